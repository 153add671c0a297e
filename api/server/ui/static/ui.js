/* evalledger's web UI: local times, selection, the Actions menu and the export dialogs.
   Every page works without this script; it only makes the same forms quicker to use. */
"use strict";

document.documentElement.classList.add("js");

function localTimes(root) {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  for (const el of root.querySelectorAll("time[data-epoch-ms]")) {
    const ms = Number(el.dataset.epochMs);
    if (Number.isFinite(ms)) el.textContent = format.format(new Date(ms));
  }
}

function timelineBars(root) {
  for (const bar of root.querySelectorAll(".timeline .bar")) {
    bar.style.left = `${Number(bar.dataset.left) || 0}%`;
    bar.style.width = `${Number(bar.dataset.width) || 0}%`;
  }
}

function backLinks(root) {
  for (const button of root.querySelectorAll("[data-back]")) {
    if (window.history.length > 1) {
      button.hidden = false;
      button.addEventListener("click", () => window.history.back());
    }
  }
}

/* The header checkbox selects every row; the count says how many are selected. */
function selection(form) {
  const all = form.querySelector("[data-select-all]");
  const rows = () => Array.from(form.querySelectorAll("[data-row-check]"));
  const count = form.querySelector("[data-selection-count]");
  const update = () => {
    const checked = rows().filter((box) => box.checked).length;
    if (all) {
      all.checked = checked > 0 && checked === rows().length;
      all.indeterminate = checked > 0 && checked < rows().length;
    }
    if (count) {
      count.textContent = checked === 0 ? "No traces selected"
        : `${checked} trace${checked === 1 ? "" : "s"} selected`;
    }
  };
  if (all) {
    all.addEventListener("change", () => {
      for (const box of rows()) box.checked = all.checked;
      update();
    });
  }
  for (const box of rows()) box.addEventListener("change", update);
  update();
  return () => rows().filter((box) => box.checked).map((box) => box.value);
}

/* A button that opens a menu: Escape and clicks elsewhere close it, arrows move. */
function menu(root) {
  const button = root.querySelector("[data-menu-button]");
  const items = root.querySelector("[data-menu-items]");
  if (!button || !items) return;
  items.setAttribute("role", "menu");
  items.setAttribute("aria-label", button.textContent.trim());
  const entries = Array.from(items.querySelectorAll("button, a"));
  for (const entry of entries) entry.setAttribute("role", "menuitem");
  const open = (focusFirst) => {
    items.hidden = false;
    button.setAttribute("aria-expanded", "true");
    if (focusFirst && entries.length) entries[0].focus();
  };
  const close = (focusButton) => {
    items.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
  };
  close(false);
  button.addEventListener("click", () => (items.hidden ? open(true) : close(false)));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); open(true); }
  });
  items.addEventListener("keydown", (event) => {
    const at = entries.indexOf(document.activeElement);
    if (event.key === "Escape") { event.preventDefault(); close(true); }
    if (event.key === "ArrowDown") { event.preventDefault(); entries[(at + 1) % entries.length].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); entries[(at - 1 + entries.length) % entries.length].focus(); }
  });
  document.addEventListener("click", (event) => {
    if (!root.contains(event.target)) close(false);
  });
  items.addEventListener("click", () => close(false));
}

function closeButtons(dialog) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close());
  }
}

/* Export: each dataset's form gets the selected trace ids when it is submitted. */
function exportForms(list, selected) {
  list.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-export-form]");
    if (!form) return;
    for (const old of form.querySelectorAll("input[name=trace_id]")) old.remove();
    for (const id of selected()) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "trace_id";
      input.value = id;
      form.append(input);
    }
  });
}

/* The new dataset joins the export list, with its Export button. */
function addDatasetRow(exportDialog, dataset) {
  const list = exportDialog.querySelector("[data-export-list]");
  const template = exportDialog.querySelector("template[data-export-row]");
  const row = template.content.firstElementChild.cloneNode(true);
  const link = row.querySelector("[data-name]");
  link.textContent = dataset.name;
  link.href = `/datasets/${encodeURIComponent(dataset.dataset_id)}`;
  row.querySelector("input[name=dataset_id]").value = dataset.dataset_id;
  row.querySelector("button[type=submit]").setAttribute("aria-label", `Export to ${dataset.name}`);
  list.append(row);
  const empty = exportDialog.querySelector("[data-export-empty]");
  if (empty) empty.hidden = true;
  return row;
}

function createDialog(createDialogEl, exportDialog) {
  const form = createDialogEl.querySelector("[data-create-form]");
  const error = form.querySelector("[data-create-error]");
  const name = form.querySelector("input[name=name]");
  closeButtons(createDialogEl);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await response.json().catch(() => ({ message: `the server answered ${response.status}` }));
      if (!response.ok) throw new Error(body.message || `the server answered ${response.status}`);
      const row = addDatasetRow(exportDialog, body);
      form.reset();
      createDialogEl.close();
      row.querySelector("button[type=submit]").focus();
    } catch (failure) {
      const text = failure.message || "the dataset could not be created";
      error.textContent = text.charAt(0).toUpperCase() + text.slice(1);
      error.hidden = false;
      name.focus();
    } finally {
      submit.disabled = false;
    }
  });
}

function tracesPage(form) {
  const selected = selection(form);
  const exportDialog = document.querySelector("[data-export-dialog]");
  const createDialogEl = document.querySelector("[data-create-dialog]");
  const opener = form.querySelector("[data-open-export]");
  if (!exportDialog || !opener) return;
  closeButtons(exportDialog);
  exportForms(exportDialog.querySelector("[data-export-list]"), selected);
  const count = exportDialog.querySelector("[data-export-count]");
  const status = form.querySelector("[data-selection-count]");
  opener.addEventListener("click", (event) => {
    event.preventDefault();
    const ids = selected();
    if (ids.length === 0) {
      if (status) status.textContent = "Select at least one trace first";
      return;
    }
    count.textContent = `${ids.length} trace${ids.length === 1 ? "" : "s"} selected. Choose the dataset to add ${ids.length === 1 ? "it" : "them"} to.`;
    exportDialog.showModal();
  });
  if (createDialogEl) {
    createDialog(createDialogEl, exportDialog);
    exportDialog.querySelector("[data-open-create]").addEventListener("click", () => {
      createDialogEl.showModal();
      createDialogEl.querySelector("input[name=name]").focus();
    });
  }
}

function start() {
  localTimes(document);
  timelineBars(document);
  backLinks(document);
  for (const root of document.querySelectorAll("[data-menu]")) menu(root);
  const form = document.querySelector("[data-traces-form]");
  if (form) tracesPage(form);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();

/* ---- Part 2: confirmations (restore, deleting records) and selecting records ----
   A form with data-confirm asks first in a dialog; confirmed, it is sent with
   confirmed=yes. Without this script the server answers such a form with a page that
   asks the same question. */
(() => {
  let dialog = null;

  function confirmDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "dialog";
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-message");
    const title = document.createElement("h2");
    title.id = "confirm-dialog-title";
    const message = document.createElement("p");
    message.id = "confirm-dialog-message";
    const row = document.createElement("div");
    row.className = "actions-row";
    const ok = document.createElement("button");
    ok.type = "button";
    ok.dataset.confirmOk = "";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => dialog.close());
    row.append(ok, cancel);
    dialog.append(title, message, row);
    document.body.append(dialog);
    return dialog;
  }

  function ask(form) {
    const needs = form.dataset.confirmNeeds;
    const count = needs ? form.querySelectorAll(`${needs}:checked`).length : null;
    const box = confirmDialog();
    const title = box.querySelector("h2");
    const message = box.querySelector("p");
    const ok = box.querySelector("[data-confirm-ok]");
    if (count === 0) {
      title.textContent = "Nothing selected";
      message.textContent = "Tick at least one record first.";
      ok.hidden = true;
    } else {
      const what = count === null ? "" : `${count} record${count === 1 ? "" : "s"}`;
      title.textContent = (form.dataset.confirmTitle || "Are you sure?").replace("{count}", what);
      message.textContent = form.dataset.confirm;
      ok.textContent = (form.dataset.confirmButton || "Confirm").replace("{count}", what);
      ok.className = "danger" in form.dataset ? "danger" : "";
      ok.hidden = false;
      ok.onclick = () => {
        const flag = document.createElement("input");
        flag.type = "hidden";
        flag.name = "confirmed";
        flag.value = "yes";
        form.append(flag);
        box.close();
        form.submit();
      };
    }
    box.showModal();
    (ok.hidden ? box.querySelector("button.secondary") : ok).focus();
  }

  function recordSelection(form) {
    const all = form.querySelector("[data-select-all]");
    const rows = () => Array.from(form.querySelectorAll("[data-row-check]"));
    const count = form.querySelector("[data-selection-count]");
    const update = () => {
      const checked = rows().filter((box) => box.checked).length;
      if (all) {
        all.checked = checked > 0 && checked === rows().length;
        all.indeterminate = checked > 0 && checked < rows().length;
      }
      if (count) {
        count.textContent = checked === 0 ? "No records selected"
          : `${checked} record${checked === 1 ? "" : "s"} selected`;
      }
    };
    if (all) {
      all.addEventListener("change", () => {
        for (const box of rows()) box.checked = all.checked;
        update();
      });
    }
    for (const box of rows()) box.addEventListener("change", update);
    update();
  }

  function startPart2() {
    for (const form of document.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        ask(form);
      });
    }
    for (const form of document.querySelectorAll("form[data-record-select]")) recordSelection(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startPart2);
  else startPart2();
})();
