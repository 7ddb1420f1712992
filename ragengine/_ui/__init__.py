"""The Streamlit console served by ``ragengine ui``: one module per page, over the public API only."""
