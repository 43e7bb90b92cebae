from kokoro_engine import SentenceBuffer as SentenceBuffer  # moved to kokoro_engine.text.streaming; goes away
