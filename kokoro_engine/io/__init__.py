"""Files the engine reads and writes: the model config, weights (`.pth`, `.safetensors`, kokoro-onnx's export), voice packs, and where the pip-installed weights live."""
