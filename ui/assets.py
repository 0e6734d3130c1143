"""The app's stylesheet and the one small script (citation markers scroll the sources panel)."""

CSS = """
#sources-panel { max-height: 72vh; overflow-y: auto; scroll-behavior: smooth; }
#sources-panel-body.sources-empty { color: var(--body-text-color-subdued); padding: 1em; }
.source-group { margin-bottom: 1.2em; }
.source-question { margin: 0.2em 0 0.5em; font-size: 0.95em; color: var(--body-text-color-subdued); }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6em 0.8em;
  margin-bottom: 0.6em; background: var(--block-background-fill); transition: box-shadow 0.3s, border-color 0.3s; }
.source-card.flash { border-color: #f59e0b; box-shadow: 0 0 0 3px rgba(245, 158, 11, 0.45); }
.source-card header { font-weight: 600; }
.source-key { color: #2563eb; margin-right: 0.25em; }
.source-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0.2em 0 0.4em; }
.passage { font-size: 0.9em; line-height: 1.45; margin: 0; white-space: pre-wrap; }
mark.support-span { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.uncited summary { cursor: pointer; font-size: 0.85em; color: var(--body-text-color-subdued); }
.uncited .passage { color: var(--body-text-color-subdued); }
.rag-answer .answer-text { margin: 0; }
a.cite-marker { color: #2563eb; font-weight: 600; text-decoration: none; cursor: pointer; padding: 0 1px; }
a.cite-marker:hover { text-decoration: underline; }
.answer-sentence.unsupported { background: rgba(239, 68, 68, 0.12); text-decoration: underline dotted #dc2626; }
.unsupported-badge { font-size: 0.72em; color: #b91c1c; border: 1px solid #fca5a5; border-radius: 4px;
  padding: 0 3px; margin-left: 4px; vertical-align: middle; }
.answer-sentence.uncertain { text-decoration: underline dotted #d97706; }
.uncertain-badge { font-size: 0.72em; color: #92400e; border: 1px solid #fcd34d; border-radius: 4px;
  padding: 0 3px; margin-left: 4px; vertical-align: middle; }
.uncertain-count { color: #92400e; }
.answer-flag { border-radius: 6px; padding: 0.45em 0.7em; margin-bottom: 0.5em; }
.answer-flag.refused { background: rgba(100, 116, 139, 0.15); border-left: 4px solid #64748b; }
.answer-flag.false-premise { background: rgba(245, 158, 11, 0.18); border-left: 4px solid #d97706; }
.answer-flag.error { background: rgba(239, 68, 68, 0.12); border-left: 4px solid #dc2626; }
.answer-meta { font-size: 0.8em; color: var(--body-text-color-subdued); margin-top: 0.4em; }
.unsupported-count { color: #b91c1c; }
.answer-status { font-style: italic; color: var(--body-text-color-subdued); }
.answer-draft { white-space: pre-wrap; }
.corpus-summary { font-size: 1.05em; }
.corpus-sources { margin: 0.3em 0 0; }
table.documents { width: 100%; border-collapse: collapse; font-size: 0.9em; }
table.documents th, table.documents td { text-align: left; padding: 0.25em 0.5em;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
table.documents td.doc-date { white-space: nowrap; }
#documents-table a, #sources-panel a.source-title { padding: 0 !important; margin: 0 !important; }
.ingest-banner { border-radius: 6px; padding: 0.5em 0.8em; border-left: 4px solid #2563eb;
  background: rgba(37, 99, 235, 0.1); }
.ingest-banner.done { border-left-color: #16a34a; background: rgba(22, 163, 74, 0.1); }
.ingest-banner.failed { border-left-color: #dc2626; background: rgba(239, 68, 68, 0.12); }
.ingest-banner.interrupted { border-left-color: #d97706; background: rgba(245, 158, 11, 0.15); }
"""

# Event delegation on the document: the chat re-renders its messages, so listeners on the
# markers themselves would be lost. The capture phase runs before Gradio's own link handling.
HEAD = """
<script>
(() => {
  function showSource(targetId) {
    const card = document.getElementById(targetId);
    if (!card) return false;
    card.scrollIntoView({ behavior: "smooth", block: "center" });
    card.classList.remove("flash");
    void card.offsetWidth;  // restart the flash when the same marker is clicked twice
    card.classList.add("flash");
    setTimeout(() => card.classList.remove("flash"), 2000);
    return true;
  }
  document.addEventListener("click", (event) => {
    const marker = event.target.closest && event.target.closest("a.cite-marker");
    if (!marker) return;
    event.preventDefault();
    event.stopPropagation();
    const target = marker.getAttribute("data-target") || (marker.getAttribute("href") || "").replace(/^#/, "");
    showSource(target);
  }, true);
  window.ragShowSource = showSource;
})();
</script>
"""
