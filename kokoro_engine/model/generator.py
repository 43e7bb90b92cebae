"""iSTFTNet generator: upsample decoder features to STFT frame rate, then predict magnitude and phase.

Two transposed-conv upsamplings (×10, ×6) take 40 Hz-ish decoder frames to 4,800 STFT frames/s; each
stage adds a multi-receptive-field fusion of AdaIN residual blocks with Snake activations, and the
harmonic source (its STFT, downsampled to the stage's rate) is injected before the fusion. A short
inverse STFT (n_fft 20, hop 5) turns the predicted spectrum into 24 kHz audio.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from kokoro_engine import preempt
from kokoro_engine.audio import SAMPLE_RATE
from kokoro_engine.model.adain import AdaIN1d
from kokoro_engine.model.source import SourceModuleHnNSF
from kokoro_engine.model.stft import make_stft


def _same_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T] with the channels innermost in memory (strides C·T, 1, C): oneDNN's CPU layout."""
    return x.transpose(1, 2).contiguous().transpose(1, 2)


def reflect_first_frame(x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """F.pad(x, (1, 0), mode="reflect") for x [B, C, T] in x's own layout (channels-last stays
    channels-last) and in `dtype` (default x's): one pass, where the padding op on a channels-last
    view takes a slow path and leaves PyTorch's layout behind, to be copied back."""
    b, c, t = x.shape
    dtype = dtype or x.dtype
    if x.stride(1) == 1 and c > 1:
        out = x.new_empty((b, t + 1, c), dtype=dtype).transpose(1, 2)
    else:
        out = x.new_empty((b, c, t + 1), dtype=dtype)
    out[..., 1:] = x
    out[..., :1] = x[..., 1:2]
    return out


class ChannelsLastConv1d(nn.Module):
    """A zero-padded `nn.Conv1d` or `nn.ConvTranspose1d` at inference, run as a 1×k conv2d on
    channels-last activations.

    oneDNN's CPU convolutions (brgemm, with AMX or AVX-512) work with the channels innermost; given
    PyTorch's usual [C, T] layout they reorder the input in and the output back out, which at the
    audio rate costs more than the convolution itself. With this layout, and activations kept in it
    between convolutions (elementwise ops keep the layout of their input), neither copy happens.
    """

    weight: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, conv: nn.Conv1d | nn.ConvTranspose1d):
        super().__init__()
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("only zero-padded, ungrouped convolutions")
        self.transposed = isinstance(conv, nn.ConvTranspose1d)
        self.register_buffer("weight", conv.weight.detach()[:, :, None, :].contiguous(memory_format=torch.channels_last))
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())
        self.stride = (1, conv.stride[0])
        self.padding = (0, conv.padding[0])
        self.dilation = (1, conv.dilation[0])
        self.output_padding = (0, conv.output_padding[0]) if self.transposed else (0, 0)

    # `conv_after` hands this convolution its input's activation: written straight into the
    # convolution's input buffer, in the dtype it runs in.
    fuses_activation = True

    def forward(self, x: torch.Tensor, activation: Callable[..., torch.Tensor] | None = None) -> torch.Tensor:
        """conv(activation(x)) (or conv(x)) for x [B, C, T], any layout."""
        width = x.shape[-1]
        # Under autocast the convolution runs in its weights' dtype, which autocast would cast to;
        # otherwise in the dtype of its input (the activation's is fp32).
        if torch.is_autocast_enabled(x.device.type):
            dtype = self.weight.dtype
        else:
            dtype = torch.float32 if activation is not None else x.dtype
        # oneDNN generates a convolution's kernels per shape, which for a width never seen costs
        # more than running it; zeros appended to a bucketed width keep the shapes few. Exact: the
        # appended zeros are the zero padding the convolution sees there anyway (transposed: a zero
        # input adds nothing), and the output is cropped to the true width.
        bucket = bucket_width(width) if widths_bucketed() else width
        if activation is None and dtype == x.dtype and bucket == width:
            x = x.unsqueeze(2)  # [B, C, T] channels-last, unsqueezed at 2: a channels-last [B, C, 1, T]
        else:
            # One pass writes the input as the convolution takes it (activated, cast, padded),
            # where applying, casting and padding would each copy the audio-rate tensor.
            padded = x.new_empty((x.shape[0], bucket, x.shape[1]), dtype=dtype).transpose(1, 2)
            padded[..., width:].zero_()
            if activation is not None:
                activate_in_steps(activation, x, padded[..., :width])
            else:
                padded[..., :width].copy_(x)
            x = padded.unsqueeze(2)
        (stride,), (padding,), (dilation,) = self.stride[1:], self.padding[1:], self.dilation[1:]
        span = dilation * (self.weight.shape[-1] - 1)
        if self.transposed:
            y = F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                   self.output_padding, 1, self.dilation)
            out = (width - 1) * stride - 2 * padding + span + self.output_padding[1] + 1
        else:
            y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
            out = (width + 2 * padding - span - 1) // stride + 1
        return y[..., :out].squeeze(2)


# Frames per step when an activation is written into a convolution's input: a step's fp32
# intermediates (0.5 MB each at 128 channels) are made and read back while still in cache.
ACTIVATION_STEP = 1024


def _in_steps(*tensors: torch.Tensor) -> bool:
    """Whether these [1, C, T] tensors are time-major (channels-last) and long enough to be worked a
    step of `ACTIVATION_STEP` frames at a time, each step's frames one contiguous block."""
    return all(t.shape[0] == 1 and t.stride(1) == 1 for t in tensors) and tensors[0].shape[-1] > ACTIVATION_STEP


def activate_in_steps(activation: Callable[..., torch.Tensor], x: torch.Tensor, out: torch.Tensor) -> None:
    """out = activation(x) for channels-last x and out [1, C, T], a step of frames at a time where
    both are time-major (`activation` time-local, taking frames [n, C]); the whole tensor at once
    otherwise. The same numbers either way: each frame is computed alone."""
    if not _in_steps(x, out):
        activation(x, out=out)
        return
    frames, into = x[0].t(), out[0].t()  # [T, C], rows contiguous
    scratch = torch.empty((ACTIVATION_STEP, x.shape[1]), dtype=torch.float32, device=x.device)
    for start in range(0, x.shape[-1], ACTIVATION_STEP):
        step = frames[start:start + ACTIVATION_STEP]
        activation(step, out=into[start:start + ACTIVATION_STEP], scratch=scratch[:step.shape[0]])


def add_in_steps(x: torch.Tensor, y: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """x + y into `out` (a new tensor when None; `x` itself adds in place). PyTorch's CPU arithmetic
    on mixed dtypes (an fp32 sum, a bf16 convolution output) first casts y whole, in one more
    audio-rate pass; on time-major tensors the sum goes a step of frames at a time instead, the
    cast in cache. The same numbers either way."""
    if x.dtype == y.dtype or not _in_steps(x, y):
        return torch.add(x, y, out=out)
    if out is None:
        out = x.new_empty((1, x.shape[-1], x.shape[1]), dtype=torch.promote_types(x.dtype, y.dtype)).transpose(1, 2)
    xs, ys, outs = x[0].t(), y[0].t(), out[0].t()
    for start in range(0, x.shape[-1], ACTIVATION_STEP):
        end = start + ACTIVATION_STEP
        torch.add(xs[start:end], ys[start:end], out=outs[start:end])
    return out


_EXACT_WIDTHS = contextvars.ContextVar("exact_widths", default=False)


@contextlib.contextmanager
def exact_widths() -> Iterator[None]:
    """Convolutions at their true widths (no bucket padding) inside this block: for counting the
    architecture's work rather than the padded work."""
    token = _EXACT_WIDTHS.set(True)
    try:
        yield
    finally:
        _EXACT_WIDTHS.reset(token)


def widths_bucketed() -> bool:
    """False inside `exact_widths()`: whether convolutions may run at padded widths."""
    return not _EXACT_WIDTHS.get()


def bucket_width(width: int, per_octave: int = 4) -> int:
    """`width` rounded up to one of `per_octave` steps per power of two (at most 1/per_octave more)."""
    step = max(1, (1 << max(width.bit_length() - 1, 0)) // per_octave)
    return -(-width // step) * step


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Snake activation x + sin²(αx)/α: periodic inductive bias for waveform-like signals."""
    return x + torch.sin(alpha * x).pow(2) / alpha


class AdaINSnake:
    """snake(AdaIN(x, s), α) for one tensor x, reduced to per-channel constants.

    With y = a·x + b (the folded AdaIN, `AdaIN1d.scale_shift`) and sin²(u) = (1 − cos 2u)/2, the
    Snake becomes y + k − k·cos(2αy) with k = 1/(2α): two fused multiply-adds and one cosine over
    the audio-rate tensor instead of about ten passes. Being time-local, it can also be applied to
    any run of x's frames on its own (`Int8Conv1d` applies it block by block, while the block is in
    cache).
    """

    def __init__(self, x: torch.Tensor, s: torch.Tensor, norm: AdaIN1d, alpha: torch.Tensor):
        a, b = (t.flatten() for t in norm.scale_shift(x, s))
        alpha = alpha.float().flatten()
        self.k = 0.5 / alpha
        self.a, self.b_plus_k = a, b + self.k                # y + k = a·x + (b + k)
        self.a_phase, self.b_phase = 2 * alpha * a, 2 * alpha * b  # 2αy

    def __call__(self, x: torch.Tensor, out: torch.Tensor | None = None,
                 scratch: torch.Tensor | None = None) -> torch.Tensor:
        """x [1, C, T], or time-major frames [n, C] → the activation, written to `out` (and the phase
        to `scratch`) where given."""
        view = (lambda t: t[None, :, None]) if x.dim() == 3 else (lambda t: t)
        narrow = out is not None and out.dtype != torch.float32
        y = torch.addcmul(view(self.b_plus_k), x, view(self.a), out=None if narrow else out)
        phase = torch.addcmul(view(self.b_phase), x, view(self.a_phase), out=scratch)
        y.addcmul_(phase.cos_(), view(self.k), value=-1)
        # Into a narrower dtype by a copy: PyTorch's arithmetic into a bf16 `out` takes a scalar
        # loop, its copy a vectorized one; both round once, from the fp32 result.
        return out.copy_(y) if narrow else y  # type: ignore[union-attr]


def conv_after(conv: nn.Module, x: torch.Tensor, activation: AdaINSnake) -> torch.Tensor:
    """conv(activation(x)). A convolution that applies a time-local activation itself, block by block
    (`fuses_activation`, as `Int8Conv1d` does), is handed it: the activated tensor is then never
    written out whole and read back."""
    if getattr(conv, "fuses_activation", False):
        return conv(x, activation)
    return conv(activation(x))


class AdaINResBlock1(nn.Module):
    """HiFi-GAN ResBlock1 with AdaIN style conditioning and learned Snake frequencies."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...], style_dim: int):
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, padding=_same_padding(kernel_size))
            for _ in dilations
        )
        self.adain1 = nn.ModuleList(AdaIN1d(style_dim, channels) for _ in dilations)
        self.adain2 = nn.ModuleList(AdaIN1d(style_dim, channels) for _ in dilations)
        self.alpha1 = nn.ParameterList(nn.Parameter(torch.ones(1, channels, 1)) for _ in dilations)
        self.alpha2 = nn.ParameterList(nn.Parameter(torch.ones(1, channels, 1)) for _ in dilations)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        for i, (c1, c2, n1, n2, a1, a2) in enumerate(zip(self.convs1, self.convs2, self.adain1, self.adain2,
                                                         self.alpha1, self.alpha2, strict=True)):
            xt = conv_after(c1, x, AdaINSnake(x, s, n1, a1))
            xt = conv_after(c2, xt, AdaINSnake(xt, s, n2, a2))
            # In place after the first sum (the input is shared with the sibling blocks): one
            # audio-rate tensor less alive at a time, the largest kind there is.
            x = add_in_steps(x, xt, x if i > 0 else None)
        return x


class Generator(nn.Module):
    def __init__(self, style_dim: int, resblock_kernel_sizes: list[int], upsample_rates: list[int],
                 upsample_initial_channel: int, resblock_dilation_sizes: list[list[int]],
                 upsample_kernel_sizes: list[int], gen_istft_n_fft: int, gen_istft_hop_size: int,
                 stft: str = "torch", sample_rate: int = SAMPLE_RATE):
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.num_upsamples = len(upsample_rates)
        self.post_n_fft = gen_istft_n_fft
        samples_per_frame = math.prod(upsample_rates) * gen_istft_hop_size
        self.samples_per_frame = samples_per_frame
        self.sample_rate = sample_rate
        self.upsample_rates = list(upsample_rates)
        self.m_source = SourceModuleHnNSF(sample_rate, samples_per_frame, harmonic_num=8, voiced_threshold=10)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        self.noise_convs = nn.ModuleList()
        self.noise_res = nn.ModuleList()
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True)):
            ch_in = upsample_initial_channel // 2**i
            ch = ch_in // 2
            self.ups.append(nn.ConvTranspose1d(ch_in, ch, k, u, padding=(k - u) // 2))
            for rk, rd in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                self.resblocks.append(AdaINResBlock1(ch, rk, tuple(rd), style_dim))
            # The source spectrum (n_fft + 2 channels at STFT-frame rate) is strided down to this stage.
            if i + 1 < len(upsample_rates):
                stride = math.prod(upsample_rates[i + 1:])
                self.noise_convs.append(nn.Conv1d(gen_istft_n_fft + 2, ch, stride * 2, stride,
                                                  padding=(stride + 1) // 2))
                self.noise_res.append(AdaINResBlock1(ch, 7, (1, 3, 5), style_dim))
            else:
                self.noise_convs.append(nn.Conv1d(gen_istft_n_fft + 2, ch, 1))
                self.noise_res.append(AdaINResBlock1(ch, 11, (1, 3, 5), style_dim))
        self.conv_post: nn.Module = nn.Conv1d(ch, self.post_n_fft + 2, 7, 1, padding=3)
        self.stft = make_stft(stft, gen_istft_n_fft, gen_istft_hop_size, gen_istft_n_fft)
        self.channels_last = False  # see use_channels_last

    def use_channels_last(self) -> int:
        """Run the residual blocks, the upsamplers, the source convolutions and `conv_post` as
        `ChannelsLastConv1d`s on channels-last activations: the CPU layout of oneDNN. Returns how many
        convolutions were swapped."""
        count = 0
        blocks = cast("list[AdaINResBlock1]", [*self.resblocks, *self.noise_res])
        for convs in [*(c for block in blocks for c in (block.convs1, block.convs2)), self.ups, self.noise_convs]:
            for i, conv in enumerate(convs):
                if isinstance(conv, (nn.Conv1d, nn.ConvTranspose1d)):
                    convs[i] = ChannelsLastConv1d(conv)
                    count += 1
        if isinstance(self.conv_post, nn.Conv1d):
            self.conv_post = ChannelsLastConv1d(self.conv_post)
            count += 1
        self.channels_last = True
        return count

    def use_fft_convs(self, measure: bool = True, min_kernel: int = 7,
                      channels: int = 128) -> dict[tuple[int, int, int], int | None]:
        """Run the fp32 residual-block convolutions with kernels of at least `min_kernel` as
        `FFTConv1d`s (model/fftconv.py) where that is faster (only the `channels`-wide stage: at 256
        channels the matrix per frequency bin costs more than it saves); each shape (channels, kernel, dilation)
        is timed once against the convolution as it runs (`probe`); `measure=False` swaps every one
        at 512-point FFTs. Returns shape → FFT size (None: kept direct). Call after
        `use_channels_last`, so the probe times the convolution that would otherwise run."""
        from kokoro_engine.model.fftconv import FFTConv1d, conv_params, probe

        chosen: dict[tuple[int, int, int], int | None] = {}
        for block in cast("list[AdaINResBlock1]", [*self.resblocks, *self.noise_res]):
            for convs in (block.convs1, block.convs2):
                for i, conv in enumerate(convs):
                    if not isinstance(conv, (nn.Conv1d, ChannelsLastConv1d)):
                        continue
                    weight, _, dilation, _ = conv_params(conv)
                    if weight.shape[-1] < min_kernel or weight.shape[0] != channels or weight.dtype != torch.float32:
                        continue
                    shape = (weight.shape[0], weight.shape[-1], dilation)
                    if shape not in chosen:
                        chosen[shape] = probe(conv, self.channels_last)[0] if measure else 512
                    n_fft = chosen[shape]
                    if n_fft is not None:
                        convs[i] = FFTConv1d(conv, n_fft)
        return chosen

    def stage_frame_rates(self) -> list[float]:
        """Frames per second of audio at each upsampling stage (800 and 4,800 for Kokoro)."""
        frame_rate = self.sample_rate / self.samples_per_frame
        return [frame_rate * math.prod(self.upsample_rates[:i + 1]) for i in range(self.num_upsamples)]

    def stage_resblocks(self, stage: int) -> list[AdaINResBlock1]:
        """The multi-receptive-field fusion of one upsampling stage: one block per kernel size."""
        # `resblocks` holds only AdaINResBlock1s (see __init__); ModuleList types its items as Module.
        return cast("list[AdaINResBlock1]",
                    list(self.resblocks[stage * self.num_kernels:(stage + 1) * self.num_kernels]))

    def forward(self, x: torch.Tensor, s: torch.Tensor, f0: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """x [1, C, F'] decoder features, s [1, style], f0 [1, F'] → audio [1, 1, samples]."""
        # F0 held constant over each frame's samples (nearest-neighbour), then the excitation.
        f0 = f0.repeat_interleave(self.samples_per_frame, dim=-1)[:, :, None]
        # The excitation and both STFTs stay in fp32 under autocast: phase is precision-hungry.
        with torch.autocast(x.device.type, enabled=False):
            har = self.m_source(f0.float(), generator)[:, :, 0]
            har = torch.cat(self.stft.transform(har), dim=1)
        layout = channels_last if self.channels_last else (lambda t: t)
        x, har = layout(x), layout(har)
        for i in range(self.num_upsamples):
            x = F.leaky_relu(x, 0.1)
            x_source = self.noise_res[i](self.noise_convs[i](har), s)
            x = self.ups[i](x)
            if i == self.num_upsamples - 1:
                # One frame so the stage matches the STFT frames. In fp32, as autocast runs padding:
                # the last stage's residual sums then stay fp32 (in bf16 they cost 0.04 dB).
                x = reflect_first_frame(x, torch.float32)
            x = layout(x) + x_source
            blocks = self.stage_resblocks(i)
            preempt.point(x.device.type)
            xs = blocks[0](x, s)  # a fresh tensor: safe to accumulate into
            for block in blocks[1:]:
                preempt.point(x.device.type)
                xs.add_(block(x, s))
            x = xs.div_(self.num_kernels)
        bins = self.post_n_fft // 2 + 1
        with torch.autocast(x.device.type, enabled=False):
            # conv_post predicts log-magnitude and phase directly, so its rounding reaches the
            # spectrum unsmoothed, and it is a sliver of the generator's work. So fp32.
            x = self.conv_post(F.leaky_relu(x.float()))
            # Log-magnitude → exp; the phase head is squashed by sin as in iSTFTNet.
            return self.stft.inverse(torch.exp(x[:, :bins]), torch.sin(x[:, bins:]))
