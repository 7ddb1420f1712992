"""Local generation with llama.cpp: the most accurate installed reader (``ragengine.readers``) by default.

The chat template comes from the GGUF file and the reader's file is hash-checked before it
loads; temperature 0; generation ends at the end of the turn or a blank line, and the answer is
its first line with content. ``copy_span=True`` lets the answer only copy text from the
contexts (``ragengine.generate.copy_span``). Message contents are tokenized as plain text, so a document cannot
open a chat turn. Token counts come from llama.cpp's own usage report, so the ledger is exact.
Per answer on 2 cores: about 1 s (SmolLM2-135M), 2.5 s (Qwen2.5-Coder-0.5B), 4 s (1.5B).
"""

from __future__ import annotations

import os

# llama.cpp's OpenMP workers busy-wait by default; on a shared 2-core machine that turned a 5 s answer
# into 30-77 s. Passive waiting must be set before llama_cpp is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import atexit
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ragengine.errors import GenerationError, InvalidInput, MissingDependency
from ragengine.generate.prompt import chat_messages, clean_answer
from ragengine.tokens import _quiet_stderr
from ragengine.types import Generation


class LlamaCppGenerator:
    name = "llm"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 2048,
        threads: int = 2,
        max_tokens: int = 32,
        temperature: float = 0.0,
        seed: int = 0,
        tokenizer: str = "smollm2-135m-instruct",
        reader: str | None = None,
        copy_span: bool = False,
    ) -> None:
        if max_tokens <= 0 or n_ctx < 256:
            raise InvalidInput(f"max_tokens must be > 0 and n_ctx >= 256, got {max_tokens}, {n_ctx}")
        if model_path is None:
            from ragengine.readers import default_reader, get_reader

            chosen = get_reader(reader or default_reader() or "smollm2")
            self.reader = chosen.name  # its file is found and hash-checked when the model loads
            tokenizer = chosen.tokenizer
        else:
            self.reader = ""
        self.model_path = Path(model_path) if model_path else None
        self.n_ctx = n_ctx
        self.threads = threads
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.tokenizer = tokenizer if self.model_path is None else f"gguf:{self.model_path.name}"
        self.copy_span = bool(copy_span)
        """Answers only copy text from the contexts (``ragengine.generate.copy_span``)."""
        self._llm: Any = None
        self._overhead: tuple[str, int] | None = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise MissingDependency("the local LLM generator (llama-cpp-python)", "llm") from e
            from ragengine.readers import reader_path

            path = self.model_path or reader_path(self.reader)  # checked against the recorded sha256
            if not path.is_file():
                raise InvalidInput(f"model file {path} does not exist")
            with _quiet_stderr():
                self._llm = Llama(
                    model_path=str(path), n_ctx=self.n_ctx, n_threads=self.threads, seed=self.seed, verbose=False
                )
            atexit.register(self.close)  # free the model before interpreter teardown (avoids a noisy __del__)
        return self._llm

    @property
    def model_name(self) -> str:
        """The GGUF file's name (cache namespaces and the ledger name the model by it)."""
        if self.model_path is not None:
            return self.model_path.name
        from ragengine.readers import get_reader

        return get_reader(self.reader).file_name

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def render(self, messages: list[dict[str, str]]) -> list[int]:
        """The prompt's token ids: the chat template's own text with special tokens, every message's
        content (documents, question) as plain text, so a document holding ``<|im_start|>`` or
        ``<|eot_id|>`` cannot open a turn. The context's count is the counter's count of the same text."""
        llm = self.load()
        template = llm.metadata.get("tokenizer.chat_template")
        contents = [m["content"] for m in messages]
        if not template:
            prompt, heads = "".join(f"\x00{i}\x00" for i in range(len(messages))), None
        else:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos = llm._model.token_get_text(llm.token_eos())
            bos = llm._model.token_get_text(llm.token_bos())
            fmt: Any = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
            slots = [{"role": m["role"], "content": f"\x00{i}\x00"} for i, m in enumerate(messages)]
            prompt, heads = fmt(messages=slots).prompt, True
        tokens: list[int] = []
        rest = prompt
        for i, content in enumerate(contents):
            head, rest = rest.split(f"\x00{i}\x00", 1)
            tokens += llm.tokenize(head.encode("utf-8"), add_bos=i == 0, special=heads is not None)
            tokens += llm.tokenize(content.encode("utf-8"), add_bos=False, special=False)
        tokens += llm.tokenize(rest.encode("utf-8"), add_bos=False, special=heads is not None)
        return tokens

    def prompt_overhead(self, question: str) -> int:
        """Prompt tokens besides the context's own: measured with no context and with a one-word
        one (the newlines around a context can tokenize differently), the larger, so a total budget
        is never overspent by a merge at the context's edges. The budget checks of one question ask
        several times: the last question's value is kept."""
        last = self._overhead
        if last is not None and last[0] == question:
            return last[1]
        empty = len(self.render(chat_messages(question, [])))
        probe = len(self.render(chat_messages(question, ["x"]))) - len(self.load().tokenize(b"x", add_bos=False))
        self._overhead = (question, max(empty, probe))
        return self._overhead[1]

    streams = True  # generate(..., on_text=f) calls f with each new piece of the answer

    @staticmethod
    def _answer_ended(llm: Any, n_prompt: int, emit: Callable[[str], None] | None = None) -> Any:
        """Stop at the first newline after a line with content (the end of turn also stops): a
        newline before any content ("The answer is:\\n1998") does not end the answer."""
        from llama_cpp import StoppingCriteriaList

        def ended(input_ids: Any, logits: Any) -> bool:
            text = llm.detokenize(list(input_ids[n_prompt:])).decode("utf-8", "ignore")
            if emit is not None:
                emit(text)
            if "\n" not in text:
                return False
            return bool(clean_answer(text[: text.rindex("\n")]))

        return StoppingCriteriaList([ended])

    def generate(
        self,
        question: str,
        contexts: Sequence[str],
        *,
        max_tokens: int | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Generation:
        """The reader's answer; ``on_text`` receives the answer as it is decoded, piece by piece
        (each piece extends the cleaned answer so far; the pieces join to the returned text unless
        a preamble was stripped after it had been sent)."""
        copy = list(contexts) if self.copy_span and contexts else None
        return self._run(self.render(chat_messages(question, contexts)), max_tokens, on_text, copy)

    def complete(
        self, prompt: str, *, max_tokens: int | None = None, on_text: Callable[[str], None] | None = None
    ) -> Generation:
        """An integration's own prompt (its template, its context) sent as one user turn."""
        return self._run(self.render([{"role": "user", "content": prompt}]), max_tokens, on_text)

    def _run(
        self,
        prompt: list[int],
        max_tokens: int | None,
        on_text: Callable[[str], None] | None,
        copy_from: list[str] | None = None,
    ) -> Generation:
        llm = self.load()
        processors = None
        if copy_from is not None:
            from llama_cpp import LogitsProcessorList

            from ragengine.generate.copy_span import CopySpan

            processors = LogitsProcessorList([CopySpan(llm, len(prompt), copy_from)])
        emit = _Emitter(on_text) if on_text is not None else None
        budget = max_tokens if max_tokens is not None else self.max_tokens
        if len(prompt) + budget > self.n_ctx:
            raise GenerationError(
                f"the prompt ({len(prompt)} tokens) and the answer ({budget}) exceed the reader's window of "
                f"{self.n_ctx} tokens; lower the budget or raise n_ctx"
            )
        with self._lock:
            try:
                llm.reset()
                out = llm.create_completion(
                    prompt=prompt,
                    temperature=self.temperature,
                    max_tokens=budget,
                    seed=self.seed,
                    stop=[llm._model.token_get_text(llm.token_eos())],
                    stopping_criteria=self._answer_ended(llm, len(prompt), emit),
                    logits_processor=processors,
                )
            except ValueError as e:  # llama.cpp raises ValueError when the prompt exceeds n_ctx
                raise GenerationError(f"llama.cpp refused the prompt: {e}; lower the budget or raise n_ctx") from e
        usage = out.get("usage") or {}
        text = out["choices"][0].get("text") or ""
        if emit is not None:
            emit(text)
        return Generation(
            text=clean_answer(text),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            llm_calls=1,
            model=self.model_name,
        )


class _Emitter:
    """Sends the growth of the cleaned answer: each call passes the raw text decoded so far."""

    def __init__(self, on_text: Callable[[str], None]) -> None:
        self.on_text, self.sent = on_text, ""

    def __call__(self, raw: str) -> None:
        cut = raw.find("\n", len(raw) - len(raw.lstrip()))
        current = clean_answer(raw if cut < 0 else raw[:cut])
        if current.startswith(self.sent) and len(current) > len(self.sent):
            self.on_text(current[len(self.sent) :])
            self.sent = current
