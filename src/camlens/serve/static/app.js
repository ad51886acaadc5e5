// camlens web page: pick an image, choose method, layer and class, see the overlay.
// Plain JavaScript, no build step, no CDN. Talks to the API of the same server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  file: null, target: null, busy: false, result: null, pending: false, dual: false,
};

function setStatus(text) {
  $("status").textContent = text;
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function option(value, text, selected) {
  const el = document.createElement("option");
  el.value = value;
  el.textContent = text;
  el.selected = Boolean(selected);
  return el;
}

async function loadServerInfo() {
  try {
    const [health, methods, layers] = await Promise.all([
      getJSON("/healthz"),
      getJSON("/v1/methods"),
      getJSON("/v1/layers"),
    ]);
    state.dual = Boolean(health.dual_encoder);
    $("model-name").textContent = state.dual
      ? `Model: ${health.model} (dual encoder: explain a text prompt)`
      : `Model: ${health.model} (${health.classes} classes)`;
    // a dual encoder (CLIP-style) is explained for a text prompt, not a class
    $("prompt-row").hidden = !state.dual;
    $("classes").hidden = state.dual;
    const method = $("method");
    for (const m of methods.methods) {
      const el = option(m.name, m.name, m.name === methods.default);
      el.title = m.description;
      method.append(el);
    }
    const layer = $("layer");
    const names = layers.layers.filter((l) => l.candidate).map((l) => l.name);
    if (layers.default && !names.includes(layers.default)) names.push(layers.default);
    for (const name of names) {
      const info = layers.layers.find((l) => l.name === name);
      const grid = info && info.grid ? ` (${info.grid.join("x")})` : "";
      layer.append(option(name, name + grid, name === layers.default));
    }
    method.disabled = false;
    layer.disabled = false;
    setStatus("Pick an image to explain.");
  } catch (err) {
    showError(`Cannot reach the camlens server: ${err.message}`);
  }
}

function currentAlpha() {
  return Number($("alpha").value);
}

function applyAlpha() {
  const alpha = currentAlpha();
  $("alpha-value").textContent = alpha.toFixed(2);
  // CSS opacity blends as the server does: (1 - alpha) * image + alpha * heatmap
  $("heatmap").style.opacity = String(alpha);
}

function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}

function renderClasses(result) {
  const list = $("class-list");
  list.replaceChildren();
  for (const c of result.top_k) {
    const item = document.createElement("li");
    const label = document.createElement("label");
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "target";
    radio.value = String(c.index);
    radio.checked = c.index === result.target.index;
    radio.addEventListener("change", () => {
      state.target = c.index;
      explain();
    });
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = c.label ?? `class ${c.index}`;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = percent(c.probability);
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = percent(c.probability);
    bar.append(fill);
    label.append(radio, name, score, bar);
    item.append(label);
    list.append(item);
  }
  $("classes").disabled = false;
  $("classes-hint").hidden = true;
}

function renderResult(result) {
  state.result = result;
  $("original").src = result.image;
  $("overlay-base").src = result.image;
  $("heatmap").src = result.heatmap;
  applyAlpha();
  if (result.prompt != null) {
    $("overlay-caption").textContent =
      `${result.method} on ${result.layer}: "${result.prompt}" (cosine ${result.target.score.toFixed(3)})`;
  } else {
    renderClasses(result);
    const name = result.target.label ?? `class ${result.target.index}`;
    $("overlay-caption").textContent =
      `${result.method} on ${result.layer}: ${name} (${percent(result.target.probability)})`;
  }
  $("download").disabled = false;
  document.body.dataset.state = "done";
  setStatus(`Explained in ${result.seconds.toFixed(2)} s.`);
}

async function explain() {
  if (!state.file) return;
  if (state.dual && !$("prompt").value.trim()) {
    setStatus("Type a prompt to explain, then press Enter.");
    return;
  }
  if (state.busy) {
    state.pending = true; // run again with the latest choices when this one ends
    return;
  }
  state.busy = true;
  document.body.dataset.state = "working";
  showError("");
  setStatus("Explaining…");
  $("explain").disabled = true;
  const options = {
    method: $("method").value || undefined,
    layer: $("layer").value || undefined,
    colormap: $("colormap").value,
    alpha: currentAlpha(),
    top_k: 5,
  };
  if (state.dual) options.prompt = $("prompt").value.trim();
  else if (state.target !== null) options.target = state.target;
  const form = new FormData();
  form.append("image", state.file, state.file.name || "image");
  form.append("options", JSON.stringify(options));
  try {
    const response = await fetch("/v1/explain", {
      method: "POST",
      body: form,
      headers: { Accept: "application/json" },
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const retry = response.headers.get("Retry-After");
      const detail = body && body.detail ? body.detail : `HTTP ${response.status}`;
      showError(retry ? `${detail} (retry in ${retry} s)` : detail);
      document.body.dataset.state = "error";
      setStatus("");
    } else {
      renderResult(body);
    }
  } catch (err) {
    showError(`The request failed: ${err.message}`);
    document.body.dataset.state = "error";
    setStatus("");
  } finally {
    state.busy = false;
    $("explain").disabled = false;
    if (state.pending) {
      state.pending = false;
      explain();
    }
  }
}

function clearResult() {
  // a new image: the previous one's pictures and classes must not stay on screen
  state.result = null;
  for (const id of ["original", "overlay-base", "heatmap"]) $(id).removeAttribute("src");
  $("class-list").replaceChildren();
  $("classes").disabled = true;
  $("classes-hint").hidden = false;
  $("overlay-caption").textContent = "Overlay";
  $("download").disabled = true;
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  state.target = null;
  clearResult();
  $("drop-text").textContent = `${file.name} (${Math.ceil(file.size / 1024)} KiB)`;
  explain();
}

function download() {
  const base = $("overlay-base");
  const heat = $("heatmap");
  if (!state.result || !base.naturalWidth) return;
  const canvas = document.createElement("canvas");
  canvas.width = base.naturalWidth;
  canvas.height = base.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(base, 0, 0);
  ctx.globalAlpha = currentAlpha();
  ctx.drawImage(heat, 0, 0, canvas.width, canvas.height);
  canvas.toBlob((blob) => {
    const link = document.createElement("a");
    const label = (state.result.prompt ?? state.result.target.label ??
      `class-${state.result.target.index}`)
      .replace(/[^A-Za-z0-9_-]+/g, "-");
    link.href = URL.createObjectURL(blob);
    link.download = `camlens-${state.result.method}-${label}.png`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }, "image/png");
}

function setUp() {
  const drop = $("drop");
  $("file").addEventListener("change", (event) => chooseFile(event.target.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    chooseFile(event.dataTransfer.files[0]);
  });
  for (const id of ["method", "layer", "colormap"]) {
    $(id).addEventListener("change", () => explain());
  }
  $("prompt").addEventListener("change", () => explain());
  $("alpha").addEventListener("input", applyAlpha);
  $("explain").addEventListener("click", () => explain());
  $("download").addEventListener("click", download);
  applyAlpha();
  loadServerInfo();
}

document.addEventListener("DOMContentLoaded", setUp);
