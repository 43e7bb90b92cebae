"""Kokoro-82M: PL-BERT + prosody predictor + text encoder + iSTFTNet decoder (StyleTTS2 lineage)."""

from __future__ import annotations

import torch
from torch import nn

from kokoro_engine.audio import SAMPLE_RATE
from kokoro_engine.config import KokoroConfig
from kokoro_engine.model.albert import PLBert
from kokoro_engine.model.decoder import Decoder
from kokoro_engine.model.prosody import ProsodyPredictor
from kokoro_engine.model.text_encoder import TextEncoder


class KokoroModel(nn.Module):
    sample_rate = SAMPLE_RATE

    def __init__(self, config: KokoroConfig, stft: str = "torch"):
        super().__init__()
        self.config = config
        self.vocab = dict(config.vocab)
        self.context_length = config.context_length
        self.bert = PLBert(config.n_token, config.plbert)
        self.bert_encoder = nn.Linear(self.bert.hidden_size, config.hidden_dim)
        self.predictor = ProsodyPredictor(config.style_dim, config.hidden_dim, config.n_layer, config.max_dur)
        self.text_encoder = TextEncoder(config.hidden_dim, config.text_encoder_kernel_size, config.n_layer,
                                        config.n_token)
        self.decoder = Decoder(config.hidden_dim, config.style_dim, config.istftnet, stft=stft)
        # Reduced precision runs as autocast over the decoder only: its convolutions run in
        # bf16/fp16, with their weights stored in that dtype (set_compute_dtype). The text side (PL-BERT, durations, F0/N) stays fp32: it is
        # under a tenth of the work, and a rounding there moves a phoneme's duration by a frame,
        # which shifts all audio after it. The generator keeps its touchy parts in fp32 too.
        self.compute_dtype = torch.float32
        self.int8_convs = 0  # generator convolutions swapped for int8 ones (quantize_generator)
        self.eval()

    def set_compute_dtype(self, dtype: torch.dtype) -> None:
        """Run the decoder in `dtype` (see __init__). Its convolution and linear weights are stored
        in that dtype too: autocast would cast them again in every forward anyway (its cast cache lasts
        one autocast region), to the same numbers, so this only saves the casts and half their memory.
        What runs outside autocast keeps fp32: `conv_post` and the harmonic source's linear mix."""
        if self.compute_dtype != torch.float32:
            raise ValueError("the compute dtype is set once, on an fp32 model")
        self.compute_dtype = dtype
        if dtype == torch.float32:
            return
        generator = self.decoder.generator
        keep = {generator.conv_post, *generator.m_source.modules()}
        for module in self.decoder.modules():
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)) and module not in keep:
                module.to(dtype)

    def use_channels_last(self) -> int:
        """The generator's convolutions on channels-last activations (`ChannelsLastConv1d`): on a
        CPU, oneDNN's convolutions then skip two reorders each. The int8 convolutions take and give
        that layout already and stay as they are. Returns how many convolutions were swapped."""
        return self.decoder.generator.use_channels_last()

    def quantize_generator(self) -> int:
        """Run the generator's residual-block convolutions in int8 on an x86-64 CPU (model/int8.py);
        everything else keeps its dtype. Returns how many convolutions were swapped."""
        from kokoro_engine.model.int8 import quantize_generator

        if self.device.type != "cpu":
            raise ValueError("int8 convolutions run on the CPU only")
        self.int8_convs += quantize_generator(self.decoder.generator)
        return self.int8_convs

    def tokenize(self, phonemes: str) -> list[int]:
        """Phoneme string → token ids; characters outside the vocabulary are skipped."""
        vocab = self.vocab
        return [vocab[p] for p in phonemes if p in vocab]

    @property
    def device(self) -> torch.device:
        return self.bert_encoder.weight.device

    def forward(self, input_ids: torch.Tensor, ref_s: torch.Tensor, speed: float = 1.0,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """input_ids [1, T] (padded with 0 at both ends), ref_s [1, 256] → (audio [S], durations [T]).

        The style vector's first half conditions the decoder (timbre), the second half the prosody.
        """
        if input_ids.shape[1] > self.context_length:
            raise ValueError(f"{input_ids.shape[1]} tokens exceed the context of {self.context_length}")
        audio, durations = self._forward(input_ids, ref_s, speed, generator)
        return audio.float().reshape(-1), durations

    def _forward(self, input_ids: torch.Tensor, ref_s: torch.Tensor, speed: float,
                 generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        s_acoustic, s_prosody = ref_s[:, :128], ref_s[:, 128:]
        d_en = self.bert_encoder(self.bert(input_ids))                      # [1, T, 512]
        d = self.predictor.text_encoder(d_en, s_prosody)                    # [1, T, 640]
        durations = self.predictor.durations(d, speed)                      # [T]
        # Expand phonemes to frames by repetition: the same numbers as multiplying by a one-hot
        # alignment matrix, without building the [T × frames] matrix.
        frame_index = torch.repeat_interleave(torch.arange(input_ids.shape[1], device=input_ids.device),
                                              durations)
        en = d.transpose(1, 2).index_select(2, frame_index)                 # [1, 640, F]
        f0, n = self.predictor.F0Ntrain(en, s_prosody)                      # [1, 2F] each
        asr = self.text_encoder(input_ids).index_select(2, frame_index)     # [1, 512, F]
        reduced = self.compute_dtype != torch.float32
        with torch.autocast(self.device.type, dtype=self.compute_dtype, enabled=reduced):
            audio = self.decoder(asr, f0, n, s_acoustic, generator)
        return audio, durations
