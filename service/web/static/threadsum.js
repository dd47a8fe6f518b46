// threadsum's page: progress while a summary runs, then filters, "in context" panels and copy
// as Markdown on the server-rendered map. The page works without this file: the form posts and
// the server answers with the rendered map; this only makes it live. No dependencies, no eval,
// no inline handlers: it runs under the page's strict Content Security Policy.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // --- the map: filters, context panel, copy, anchors ----------------------------------------

  function openAncestors(el) {
    for (let p = el && el.parentElement; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") p.open = true;
    }
  }

  function reveal(id) {
    const el = id && document.getElementById(id);
    if (!el) return null;
    openAncestors(el);
    if (el.tagName === "DETAILS") el.open = true;
    const fold = el.querySelector(":scope > details.fold");
    if (fold) fold.open = true;
    return el;
  }

  function showPanel(id) {
    const source = document.getElementById(id);
    const panel = $("#panel");
    if (!source || !panel) return false;
    const body = $("#panel-body");
    body.replaceChildren(source.cloneNode(true));
    const copy = body.firstElementChild;
    copy.removeAttribute("id");
    copy.dataset.of = id;
    panel.hidden = false;
    $("#panel-close").focus();
    return true;
  }

  function applyFilters(map) {
    const form = $("#filters", map);
    if (!form) return;
    const author = form.elements.author.value;
    const min = parseInt(form.elements.min.value, 10) || 0;
    const claims = $$("article.claim", map);
    let shown = 0;
    for (const claim of claims) {
      const authors = (claim.dataset.authors || "").split("\n");
      const ok =
        (!author || authors.includes(author)) &&
        parseInt(claim.dataset.comments || "0", 10) >= min;
      claim.hidden = !ok;
      if (ok) shown += 1;
    }
    const filtering = Boolean(author) || min > 0;
    if (filtering) $$("details.more-claims", map).forEach((d) => (d.open = true));
    for (const link of $$(".toc-claims a[data-claim]", map)) {
      const claim = document.getElementById(link.dataset.claim);
      link.parentElement.hidden = Boolean(claim && claim.hidden);
    }
    form.elements.shown.value = filtering ? `${shown} of ${claims.length} claims shown` : "";
  }

  function enhance(root) {
    const map = $(".map", root) || (root.classList && root.classList.contains("map") ? root : null);
    if (!map) return;
    const form = $("#filters", map);
    if (form) {
      form.hidden = false;
      form.addEventListener("input", () => applyFilters(map));
      form.addEventListener("submit", (e) => e.preventDefault());
    }
    const copy = $("button.copy", map);
    if (copy) {
      copy.addEventListener("click", async () => {
        const text = $("#markdown", map).value;
        try {
          await navigator.clipboard.writeText(text);
          copy.textContent = "Copied";
        } catch (err) {
          const area = $("#markdown", map);
          openAncestors(area);
          area.select();
          copy.textContent = "Press Ctrl+C to copy";
        }
        setTimeout(() => (copy.textContent = "Copy as Markdown"), 2000);
      });
    }
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest && e.target.closest("a[href^='#']");
    if (!link) return;
    const id = decodeURIComponent(link.getAttribute("href").slice(1));
    if (link.dataset.ctx && showPanel(link.dataset.ctx)) {
      e.preventDefault();
      history.replaceState(null, "", "#" + link.dataset.ctx);
      return;
    }
    const el = reveal(id);
    if (el) {
      e.preventDefault();
      history.pushState(null, "", "#" + id);
      el.scrollIntoView({ block: "start" });
    }
  });

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && $("#panel") && !$("#panel").hidden) $("#panel").hidden = true;
  });

  // --- the form: progress by server-sent events ----------------------------------------------

  function setProgress(p) {
    const stage = p.stage === "done" ? "Rendering the map…" : `Stage: ${p.stage}…`;
    $("#stage").textContent = stage;
    const bar = $("#bar");
    if (p.chunks_total > 0) {
      bar.max = p.chunks_total;
      bar.value = p.chunks_done;
      $("#p-chunks").textContent = `${p.chunks_done} / ${p.chunks_total}`;
    }
    $("#p-calls").textContent = String(p.calls);
    $("#p-tokens").textContent = (p.prompt_tokens + p.completion_tokens).toLocaleString("en");
    $("#p-retries").textContent = String(p.retries);
    $("#p-cache").textContent = String(p.cache_hits);
  }

  function showError(text) {
    const box = $("#error");
    box.textContent = text;
    box.hidden = false;
  }

  async function readEvents(response, handle) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) handle(event, data.join("\n"));
      }
    }
  }

  async function submit(form) {
    const button = $("button[type=submit]", form);
    const progress = $("#progress");
    const result = $("#result");
    $("#error").hidden = true;
    button.disabled = true;
    progress.hidden = false;
    $("#stage").textContent = "Reading the thread…";
    $("#bar").removeAttribute("value");
    ["#p-calls", "#p-retries", "#p-cache", "#p-tokens"].forEach((s) => ($(s).textContent = "0"));
    $("#p-chunks").textContent = "–";
    const body = new URLSearchParams(new FormData(form));
    const headers = { Accept: "text/event-stream" };
    const key = form.elements.api_key && form.elements.api_key.value;
    if (key) headers["X-API-Key"] = key;
    let finished = false;
    try {
      const response = await fetch(form.action, { method: "POST", body, headers });
      const type = response.headers.get("content-type") || "";
      if (!type.startsWith("text/event-stream")) {
        let detail = `HTTP ${response.status}`;
        try {
          detail = (await response.json()).detail || detail;
        } catch (err) {
          /* not a problem document */
        }
        showError(detail);
        return;
      }
      await readEvents(response, (event, data) => {
        if (event === "progress") setProgress(JSON.parse(data));
        else if (event === "map") {
          const doc = JSON.parse(data);
          result.innerHTML = doc.html;
          document.title = `${doc.title} · threadsum`;
          enhance(result);
          finished = true;
        } else if (event === "problem") {
          showError(JSON.parse(data).detail);
          finished = true;
        }
      });
      if (!finished) showError("the connection closed before the summary was ready");
    } catch (err) {
      showError(`the request failed: ${err.message}`);
    } finally {
      button.disabled = false;
      progress.hidden = true;
    }
  }

  function start() {
    const form = $("#run");
    if (form && window.fetch && window.TextDecoder && window.ReadableStream) {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        submit(form);
      });
    }
    const close = $("#panel-close");
    if (close) close.addEventListener("click", () => ($("#panel").hidden = true));
    enhance(document);
    if (location.hash) reveal(decodeURIComponent(location.hash.slice(1)));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
