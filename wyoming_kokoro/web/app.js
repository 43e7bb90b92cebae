// The voice page: lists /v1/audio/voices, plays /v1/audio/speech (highlighting the words as they are
// spoken, from the reply's word timings), builds blend expressions.
"use strict";

const SAMPLES = {
  en_US: "Hello! The kitchen lights are on, and it is twenty one degrees outside.",
  en_GB: "Good evening. The front door is locked and the heating is set to nineteen degrees.",
  ja_JP: "こんにちは。今日はいい天気ですね。",
  zh_CN: "你好，今天天气很好。客厅的灯已经打开了。",
  es_ES: "Hola. Las luces de la cocina están encendidas.",
  fr_FR: "Bonjour. Les lumières de la cuisine sont allumées.",
  hi_IN: "नमस्ते। रसोई की बत्तियाँ जल रही हैं।",
  it_IT: "Ciao. Le luci della cucina sono accese.",
  pt_BR: "Olá. As luzes da cozinha estão acesas.",
};
const $ = (id) => document.getElementById(id);
const state = { voices: [], selected: null, textIsSample: true, auth: false };

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function getJSON(path) {
  const r = await fetch(path, { headers: headers() });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
  return body;
}

function languageLabel(v) {
  return (v.language_name || v.language || "Other") + (v.language ? " (" + v.language + ")" : "");
}

function renderVoices() {
  const groups = new Map();
  const sorted = [...state.voices].sort((a, b) => (b.installed - a.installed));
  for (const v of sorted) {
    const key = v.blend ? "Blends" : languageLabel(v);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(v);
  }
  const box = $("voices");
  box.textContent = "";
  for (const [label, voices] of groups) {
    const fs = document.createElement("fieldset");
    const lg = document.createElement("legend");
    lg.textContent = label + " — " + voices.filter((v) => v.installed).length + " of " + voices.length + " installed";
    fs.append(lg);
    for (const v of voices) {
      const wrap = document.createElement("label");
      wrap.className = "voice" + (v.installed ? "" : " missing");
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: "voice", value: v.name, disabled: !v.installed });
      input.checked = v.name === state.selected;
      input.addEventListener("change", () => selectVoice(v.name));
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = v.blend ? v.blend
        : [v.gender, v.grade ? "grade " + v.grade : null, v.installed ? null : "not installed"].filter(Boolean).join(", ");
      const name = document.createElement("span");
      name.textContent = v.display_name + " (" + v.name + ")";
      wrap.append(input, name, meta);
      fs.append(wrap);
    }
    box.append(fs);
  }
}

function voiceByName(name) { return state.voices.find((v) => v.name === name); }

function selectVoice(name) {
  state.selected = name;
  $("selected").textContent = name;
  const v = voiceByName(name);
  if (v && state.textIsSample) {
    $("text").value = SAMPLES[v.language] || SAMPLES.en_US;
  }
}

async function speak(voice) {
  const text = $("text").value;
  const buttons = [$("play"), $("blend-play")];
  buttons.forEach((b) => (b.disabled = true));
  setStatus("Speaking with " + voice + "…");
  const t0 = performance.now();
  let first = null;
  try {
    // Server-sent events: the audio in base64 deltas, each with the words it speaks (timestamps).
    const r = await fetch("v1/audio/speech", {
      method: "POST", headers: headers(),
      body: JSON.stringify({ model: "kokoro", input: text, voice, response_format: "mp3", speed: Number($("speed").value),
                             stream_format: "sse", timestamps: true }),
    });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.error ? body.error.message : r.status + " " + r.statusText);
    }
    const parts = [];
    const words = [];
    for await (const event of serverEvents(r.body)) {
      if (event.type === "error") throw new Error(event.error.message);
      if (event.type !== "speech.audio.delta") continue;
      if (first === null) first = performance.now();
      parts.push(Uint8Array.from(atob(event.audio), (c) => c.charCodeAt(0)));
      words.push(...(event.words || []));
    }
    const total = performance.now();
    showCaption(words);
    const player = $("player");
    if (player.src) URL.revokeObjectURL(player.src);
    player.src = URL.createObjectURL(new Blob(parts, { type: "audio/mpeg" }));
    await new Promise((ok, fail) => {
      player.onloadedmetadata = ok;
      player.onerror = () => fail(new Error("the browser could not decode the audio"));
    });
    const seconds = player.duration;
    $("ttfa").textContent = ((first - t0) / 1000).toFixed(2) + " s";
    $("total").textContent = ((total - t0) / 1000).toFixed(2) + " s";
    $("duration").textContent = seconds.toFixed(2) + " s";
    $("rtf").textContent = ((total - t0) / 1000 / seconds).toFixed(3);
    setStatus("Playing " + voice);
    player.play().catch(() => setStatus("Ready: press play on the player (" + voice + ")"));
  } catch (err) {
    setStatus("Error: " + err.message, true);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

// The JSON of each `data:` line of a text/event-stream body.
async function* serverEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) yield JSON.parse(line.slice(6));
      }
    }
  }
}

// --- words as they are spoken ------------------------------------------------------------------------
function showCaption(words) {
  const box = $("caption");
  box.textContent = "";
  words.forEach((w, i) => {
    const span = document.createElement("span");
    span.textContent = w.word;
    span.dataset.start = w.start;
    span.dataset.end = w.end;
    span.dataset.index = i;
    box.append(span, " ");
  });
  box.hidden = words.length === 0;
}

function highlightWords() {
  const t = $("player").currentTime;
  for (const span of $("caption").children) {
    const start = Number(span.dataset.start), end = Number(span.dataset.end);
    span.classList.toggle("current", start <= t && t < end);
    span.classList.toggle("spoken", end <= t);
  }
}

function followPlayback() {
  highlightWords();
  if (!$("player").paused) requestAnimationFrame(followPlayback);
}

// --- blends ---------------------------------------------------------------------------------------
function blendRow(index, voice, weight) {
  const row = document.createElement("div");
  row.className = "blend-row";
  const sel = document.createElement("select");
  sel.id = "blend-voice-" + index;
  for (const v of state.voices.filter((x) => x.installed && !x.blend)) {
    const o = document.createElement("option");
    o.value = v.name;
    o.textContent = v.display_name + " (" + v.name + ")";
    sel.append(o);
  }
  if (voice) sel.value = voice;
  const w = document.createElement("input");
  Object.assign(w, { type: "number", id: "blend-weight-" + index, min: "0.05", max: "1", step: "0.05", value: String(weight) });
  const l1 = document.createElement("label");
  l1.htmlFor = sel.id;
  l1.textContent = "Voice " + (index + 1);
  const l2 = document.createElement("label");
  l2.htmlFor = w.id;
  l2.textContent = "weight";
  sel.addEventListener("change", updateBlend);
  w.addEventListener("input", updateBlend);
  row.append(l1, sel, l2, w);
  if (index === 2) {
    const rm = document.createElement("button");
    rm.type = "button";
    rm.textContent = "Remove";
    rm.addEventListener("click", () => { row.remove(); $("blend-add").hidden = false; updateBlend(); });
    row.append(rm);
  }
  $("blend-rows").append(row);
}

function blendExpression() {
  const parts = [];
  for (const row of $("blend-rows").children) {
    const voice = row.querySelector("select").value;
    const weight = Number(row.querySelector("input").value);
    if (voice && weight > 0) parts.push(voice + ":" + Number(weight.toFixed(2)));
  }
  return parts.join("+");
}

function updateBlend() {
  const expr = blendExpression();
  $("blend-expr").value = expr;
  $("blend-arg").value = "--blend my_blend=" + expr;
}

function setupBlend() {
  const installed = state.voices.filter((v) => v.installed && !v.blend);
  $("blend-rows").textContent = "";
  blendRow(0, installed[0] && installed[0].name, 0.7);
  blendRow(1, (installed[1] || installed[0] || {}).name, 0.3);
  updateBlend();
}

async function load() {
  try {
    const health = await (await fetch("health")).json();
    state.auth = health.auth;
    $("key-row").hidden = !health.auth;
    $("footer").textContent = "Model " + health.model + " · device " + health.device + " · " + health.dtype
      + (health.int8_convolutions ? " with " + health.int8_convolutions + " int8 convolutions" : "")
      + " · formats " + health.formats.join(", ");
    $("api-key").value = localStorage.getItem("kokoro-api-key") || "";
    const data = await getJSON("v1/audio/voices");
    state.voices = data.voices;
    state.selected = data.default;
    renderVoices();
    selectVoice(data.default);
    setupBlend();
    setStatus(state.voices.filter((v) => v.installed).length + " voices installed");
  } catch (err) {
    setStatus("Could not load the voices: " + err.message + (state.auth ? " (check the API key)" : ""), true);
  }
}

$("player").addEventListener("play", followPlayback);
$("player").addEventListener("seeked", highlightWords);
$("player").addEventListener("ended", highlightWords);
$("text").addEventListener("input", () => (state.textIsSample = false));
$("speed").addEventListener("input", () => ($("speed-out").textContent = Number($("speed").value).toFixed(2)));
$("play").addEventListener("click", () => state.selected && speak(state.selected));
$("blend-play").addEventListener("click", () => speak(blendExpression()));
$("blend-add").addEventListener("click", () => {
  const installed = state.voices.filter((v) => v.installed && !v.blend);
  blendRow(2, (installed[2] || installed[0] || {}).name, 0.2);
  $("blend-add").hidden = true;
  updateBlend();
});
$("blend-copy").addEventListener("click", () => {
  $("blend-expr").select();
  (navigator.clipboard ? navigator.clipboard.writeText($("blend-expr").value) : Promise.reject())
    .catch(() => document.execCommand("copy"));
});
$("api-key").addEventListener("change", () => { localStorage.setItem("kokoro-api-key", $("api-key").value); load(); });
load();
