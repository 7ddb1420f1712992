"""``ragengine serve``: the engine as an HTTP service for apps in any language (FastAPI + uvicorn).

``app.create_app`` builds the FastAPI application over loaded engines; ``errors`` turns every
failure into a JSON error object; ``openai_chat`` speaks OpenAI's chat-completions format (plain
and streamed). Uses only the public API (``ragengine``).
"""
