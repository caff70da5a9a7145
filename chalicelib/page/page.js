(function () {
  "use strict";

  var POLL_MS = 1500;
  var POLL_FAILURES_ALLOWED = 5;
  var ERRORS_BYTES = 65536;
  var ERRORS_SHOWN = 25;
  var KEY_STORAGE = "pfa-serving.api-key";
  var STATE_WORDS = {
    waiting_for_upload: "Waiting for the upload",
    queued: "Queued: the file is being read and split",
    running: "Running",
    succeeded: "Finished",
    failed: "Failed"
  };

  // The page is served at the API's root, which may sit under a stage path (/dev/, or /dev without the slash).
  function apiBase(pathname) {
    return pathname.endsWith("/") ? pathname : pathname + "/";
  }
  var BASE = apiBase(window.location.pathname);

  function $(id) { return document.getElementById(id); }
  var el = {
    key: $("api-key"), model: $("model"), reload: $("reload-models"), modelStatus: $("model-status"),
    modelError: $("model-error"), modelDetails: $("model-details"), modelSummary: $("model-summary"),
    fields: $("fields"), fieldsSummary: $("fields-summary"),
    scoreForm: $("score-form"), record: $("record"), score: $("score"), resetExample: $("reset-example"),
    scoreStatus: $("score-status"), scoreError: $("score-error"), scoreResult: $("score-result"),
    prediction: $("prediction"), scoredBy: $("scored-by"),
    fileForm: $("file-form"), file: $("file"), format: $("format"), upload: $("upload"), fileError: $("file-error"),
    uploadBox: $("upload-box"), uploadProgress: $("upload-progress"), uploadText: $("upload-text"),
    job: $("job"), jobId: $("job-id"), jobState: $("job-state"), rowsProgress: $("rows-progress"),
    rowsText: $("rows-text"), jobCounts: $("job-counts"), jobNotes: $("job-notes"), jobError: $("job-error"),
    jobLinks: $("job-links"), resultsLink: $("results-link"), errorsLinkBox: $("errors-link-box"),
    errorsLink: $("errors-link"), linksExpire: $("links-expire"), rowErrorsBox: $("row-errors-box"),
    rowErrorsCaption: $("row-errors-caption"), rowErrors: document.querySelector("#row-errors tbody")
  };

  var current = {model: null, example: null, modelRequest: 0, job: 0, maxBytes: null, uploaded: null};

  // ----- talking to the API -----

  function PageError(message, detail) {
    this.message = message;
    this.detail = detail || {};
  }

  function apiKeyMessage(status) {
    return "The service refused the call (HTTP " + status + "): an API key is needed, or the one given is " +
      "wrong. Enter your API key in the \u201cAPI key\u201d field at the top and try again.";
  }

  async function api(method, path, body) {
    var headers = {"Accept": "application/json"};
    var key = el.key.value.trim();
    if (key) { headers["x-api-key"] = key; }
    var init = {method: method, headers: headers, cache: "no-store"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = body;
    }
    var response;
    try {
      response = await fetch(BASE + path, init);
    } catch (error) {
      throw new PageError("Could not reach the service (" + error.message + "). Check the connection and try again.");
    }
    var text = await response.text();
    var data = null;
    try { data = text ? JSON.parse(text) : null; } catch (ignored) { data = null; }
    if (response.ok) { return data; }
    if (response.status === 403) { throw new PageError(apiKeyMessage(response.status), {code: "forbidden"}); }
    var error = data && data.error;
    if (error && typeof error === "object") {
      throw new PageError(String(error.message || "the service refused the request"),
        {code: error.code, field: error.field, status: response.status});
    }
    throw new PageError("The service answered HTTP " + response.status + (text ? ": " + text.slice(0, 200) : ""),
      {status: response.status});
  }

  // ----- showing things -----

  function setText(node, text) { node.textContent = text == null ? "" : String(text); }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function add(parent, tag, text, className) {
    var node = document.createElement(tag);
    if (text != null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    parent.appendChild(node);
    return node;
  }

  function showError(region, heading, error) {
    clear(region);
    var detail = (error && error.detail) || {};
    var line = add(region, "p");
    add(line, "strong", heading + " ");
    line.appendChild(document.createTextNode(error && error.message ? error.message : String(error)));
    if (detail.field != null || detail.code) {
      var facts = add(region, "p");
      if (detail.field != null) {
        facts.appendChild(document.createTextNode("Field: "));
        add(facts, "code", detail.field, "error-field");
        if (detail.code) { facts.appendChild(document.createTextNode(" \u00b7 ")); }
      }
      if (detail.code) {
        facts.appendChild(document.createTextNode("Code: "));
        add(facts, "code", detail.code, "error-code");
      }
    }
  }

  function bytesText(bytes) {
    if (bytes < 1024) { return bytes + " bytes"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function typeText(type) {
    if (typeof type === "string") { return type; }
    if (Array.isArray(type)) { return type.map(typeText).join(" | "); }
    if (type && typeof type === "object") {
      if (type.type === "array") { return "array of " + typeText(type.items); }
      if (type.type === "map") { return "map of " + typeText(type.values); }
      if (type.type === "enum") { return "one of " + (type.symbols || []).join(", "); }
      if (type.type === "record") { return "record" + (type.name ? " " + type.name : ""); }
      if (type.type === "fixed") { return "fixed, " + type.size + " bytes"; }
      return typeText(type.type);
    }
    return String(type);
  }

  // A model's input fields: a record's fields, or a map's keys as the document lists them.
  function inputFields(model) {
    var schema = model.input_schema;
    if (Array.isArray(model.input_keys) && model.input_keys.length) {
      var types = model.input_types || {};
      var values = schema && schema.values;
      return model.input_keys.map(function (name) { return {name: name, type: types[name] || values}; });
    }
    if (schema && schema.type === "record" && Array.isArray(schema.fields)) {
      return schema.fields.map(function (field) { return {name: field.name, type: field.type}; });
    }
    return [{name: "(the whole record)", type: schema}];
  }

  // ----- models -----

  async function loadModels() {
    el.model.disabled = true;
    clear(el.modelError);
    setText(el.modelStatus, "Loading the list of models\u2026");
    var listing;
    try {
      listing = await api("GET", "models");
    } catch (error) {
      setText(el.modelStatus, "");
      showError(el.modelError, "Could not list the models.", error);
      return;
    }
    var names = (listing.models || []).map(function (model) { return model.name; });
    if (listing.default && names.indexOf(listing.default) < 0) { names.unshift(listing.default); }
    var keep = current.model && names.indexOf(current.model) >= 0 ? current.model : listing.default || names[0];
    clear(el.model);
    names.forEach(function (name) {
      var option = add(el.model, "option", name + (name === listing.default ? " (default)" : ""));
      option.value = name;
      option.selected = name === keep;
    });
    if (!names.length) {
      setText(el.modelStatus, "There are no models in the bucket yet.");
      return;
    }
    el.model.disabled = false;
    setText(el.modelStatus, names.length + (names.length === 1 ? " model" : " models") + " in the bucket" +
      (listing.truncated ? " (only the first ones are listed)" : "") + ".");
    await showModel(el.model.value);
  }

  async function showModel(name) {
    var request = ++current.modelRequest;
    current.model = name;
    clear(el.modelError);
    el.modelDetails.hidden = true;
    setText(el.modelStatus, "Loading " + name + "\u2026");
    var model;
    try {
      model = await api("GET", "models/" + encodeURIComponent(name));
    } catch (error) {
      if (request !== current.modelRequest) { return; }
      setText(el.modelStatus, "");
      showError(el.modelError, "Could not load " + name + ".", error);
      return;
    }
    if (request !== current.modelRequest) { return; }
    setText(el.modelStatus, "");
    setText(el.modelSummary, model.name + ", version " + (model.version || "unknown") + ". Output: " +
      typeText(model.output_schema) + ".");
    var fields = inputFields(model);
    clear(el.fields);
    fields.forEach(function (field) {
      var item = add(el.fields, "li");
      add(item, "code", field.name);
      item.appendChild(document.createTextNode(" "));
      add(item, "span", typeText(field.type), "type");
    });
    setText(el.fieldsSummary, "Input fields (" + fields.length + ")");
    el.modelDetails.hidden = false;
    current.example = model.example_request === undefined ? {} : model.example_request;
    putExample();
  }

  function putExample() {
    el.record.value = JSON.stringify(current.example, null, 2);
    el.scoreResult.hidden = true;
    clear(el.scoreError);
  }

  // ----- one record -----

  async function scoreRecord(event) {
    event.preventDefault();
    if (!current.model) { return; }
    var name = current.model;
    clear(el.scoreError);
    el.scoreResult.hidden = true;
    el.score.disabled = true;
    setText(el.scoreStatus, "Scoring with " + name + "\u2026");
    try {
      // The text goes as typed: the service, not the browser's JSON parser, decides what it means.
      var answer = await api("POST", "models/" + encodeURIComponent(name) + "/predict", el.record.value);
      setText(el.prediction, JSON.stringify(answer.prediction, null, 2));
      setText(el.scoredBy, "Scored by " + answer.model.name + ", version " + answer.model.version + ".");
      el.scoreResult.hidden = false;
      setText(el.scoreStatus, "");
    } catch (error) {
      setText(el.scoreStatus, "");
      showError(el.scoreError, "Not scored:", error);
    } finally {
      el.score.disabled = false;
    }
  }

  // ----- a file -----

  function formatFromName(name) {
    var lower = name.toLowerCase();
    if (lower.endsWith(".csv")) { return "csv"; }
    if (/\.(jsonl|ndjson|json|jsonlines)$/.test(lower)) { return "jsonl"; }
    return null;
  }

  function fileChosen() {
    clear(el.fileError);
    var file = el.file.files[0];
    if (!file) { return; }
    var format = formatFromName(file.name);
    if (format) { el.format.value = format; }
    if (current.maxBytes !== null && file.size > current.maxBytes) { tooLarge(file, current.maxBytes); }
  }

  function tooLarge(file, maxBytes) {
    showError(el.fileError, "File too large:", new PageError(file.name + " is " + bytesText(file.size) +
      "; the service takes files of at most " + bytesText(maxBytes) + ". Split it into smaller files."));
  }

  function s3Message(xhr) {
    var text = xhr.responseText || "";
    var code = "", message = "";
    try {
      var doc = new DOMParser().parseFromString(text, "application/xml");
      code = (doc.querySelector("Code") || {}).textContent || "";
      message = (doc.querySelector("Message") || {}).textContent || "";
    } catch (ignored) { /* not XML: fall back to the status */ }
    if (code === "EntityTooLarge") { return "The file is larger than the service takes (" + message + ")."; }
    if (code === "AccessDenied" && /expired/i.test(message)) { return "The upload link expired; try again."; }
    return "Storage refused the upload (HTTP " + xhr.status + (code ? ", " + code : "") + ")" +
      (message ? ": " + message : ".");
  }

  function sendToStorage(upload, file) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(upload.fields || {}).forEach(function (name) { form.append(name, upload.fields[name]); });
      form.append(upload.file_field || "file", file, file.name);  // last: S3 ignores fields after the file
      var xhr = new XMLHttpRequest();
      xhr.open(upload.method || "POST", upload.url);
      xhr.upload.onprogress = function (event) {
        if (!event.lengthComputable) { return; }
        el.uploadProgress.max = event.total;
        el.uploadProgress.value = event.loaded;
        setText(el.uploadText, Math.floor(100 * event.loaded / event.total) + "% (" + bytesText(event.loaded) +
          " of " + bytesText(event.total) + ")");
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); } else { reject(new PageError(s3Message(xhr))); }
      };
      xhr.onerror = function () {
        reject(new PageError("The upload to storage failed: the connection was lost, or storage did not allow " +
          "this page to upload (its CORS rules)."));
      };
      xhr.send(form);
    });
  }

  async function uploadFile(event) {
    event.preventDefault();
    clear(el.fileError);
    var file = el.file.files[0];
    if (!file) {
      showError(el.fileError, "No file:", new PageError("Choose a CSV or JSON-lines file first."));
      el.file.focus();
      return;
    }
    if (current.maxBytes !== null && file.size > current.maxBytes) { tooLarge(file, current.maxBytes); return; }
    var jobToken = ++current.job;
    el.upload.disabled = true;
    resetJob();
    el.uploadBox.hidden = false;
    el.uploadProgress.max = 100;
    el.uploadProgress.value = 0;
    setText(el.uploadText, "Creating the job\u2026");
    try {
      var job = await api("POST", "jobs", JSON.stringify({model: current.model, format: el.format.value}));
      current.maxBytes = job.upload.max_bytes;
      if (file.size > job.upload.max_bytes) {
        el.uploadBox.hidden = true;
        tooLarge(file, job.upload.max_bytes);
        return;
      }
      showJob(job);
      setText(el.uploadText, "Uploading\u2026");
      await sendToStorage(job.upload, file);
      el.uploadProgress.value = el.uploadProgress.max;
      current.uploaded = job.id;
      setText(el.uploadText, "Uploaded " + bytesText(file.size) + ".");
      pollJob(job.id, jobToken, 0);
    } catch (error) {
      el.job.hidden = true;
      showError(el.fileError, "Not uploaded:", error);
      setText(el.uploadText, "Stopped.");
    } finally {
      el.upload.disabled = false;
    }
  }

  // ----- a job's progress -----

  function resetJob() {
    el.job.hidden = true;
    clear(el.jobError);
    clear(el.rowErrors);
    el.rowErrorsBox.hidden = true;
    el.jobLinks.hidden = true;
    el.resultsLink.removeAttribute("href");
    el.errorsLink.removeAttribute("href");
  }

  function showJob(job) {
    el.job.hidden = false;
    setText(el.jobId, job.id);
    var words = STATE_WORDS[job.state] || job.state;
    if (job.state === "waiting_for_upload" && current.uploaded === job.id) {
      words = "Uploaded; waiting for the job to start";
    }
    el.jobState.className = job.state === "succeeded" ? "status done" : "status";
    setText(el.jobState, "State: " + words + (job.model ? " (model " + job.model.name +
      (job.model.version ? ", version " + job.model.version : "") + ")" : "") + ".");
    var rows = job.rows || {};
    if (rows.total != null) {
      el.rowsProgress.max = Math.max(rows.total, 1);
      el.rowsProgress.value = rows.total ? rows.done || 0 : 1;
      setText(el.rowsText, (rows.done || 0) + " of " + rows.total + " rows");
    } else if (job.state === "queued" || job.state === "running") {
      el.rowsProgress.removeAttribute("value");  // indeterminate until the rows are counted
      setText(el.rowsText, "counting the rows\u2026");
    } else {
      el.rowsProgress.max = 1;
      el.rowsProgress.value = 0;
      setText(el.rowsText, "");
    }
    setText(el.jobCounts, "Scored: " + (rows.scored || 0) + " \u00b7 Failed: " + (rows.failed || 0) +
      (job.elapsed_ms != null ? " \u00b7 Time: " + (job.elapsed_ms / 1000).toFixed(1) + " s" : ""));
    clear(el.jobNotes);
    (job.notes || []).forEach(function (note) { add(el.jobNotes, "li", note); });
  }

  function pollJob(id, token, failures) {
    window.setTimeout(async function () {
      if (token !== current.job) { return; }
      var job;
      try {
        job = await api("GET", "jobs/" + encodeURIComponent(id));
      } catch (error) {
        if (token !== current.job) { return; }
        var gone = error.detail.status === 404 || error.detail.code === "forbidden";
        if (gone || failures + 1 >= POLL_FAILURES_ALLOWED) {
          showError(el.jobError, "Could not follow the job:", error);
        } else {
          setText(el.jobState, "Could not read the job's state (" + error.message + "); trying again\u2026");
          pollJob(id, token, failures + 1);
        }
        return;
      }
      if (token !== current.job) { return; }
      showJob(job);
      if (job.state === "succeeded") {
        jobSucceeded(job, token);
      } else if (job.state === "failed") {
        showError(el.jobError, "The job failed:", new PageError(job.reason || "no reason was given"));
      } else {
        pollJob(id, token, 0);
      }
    }, POLL_MS);
  }

  function jobSucceeded(job, token) {
    if (job.results_url) {
      el.resultsLink.href = job.results_url;
      el.errorsLinkBox.hidden = !(job.errors_url && job.rows && job.rows.failed);
      if (job.errors_url) { el.errorsLink.href = job.errors_url; }
      setText(el.linksExpire, job.links_expire_at ? " \u00b7 the links work until " + job.links_expire_at : "");
      el.jobLinks.hidden = false;
    }
    if (job.errors_url && job.rows && job.rows.failed) { listRowErrors(job, token); }
  }

  // The first errors only: a Range request keeps this small whatever the size of the errors file.
  async function listRowErrors(job, token) {
    var text;
    var partial = false;
    try {
      var response = await fetch(job.errors_url, {headers: {"Range": "bytes=0-" + (ERRORS_BYTES - 1)}});
      if (!response.ok) { throw new PageError("storage answered HTTP " + response.status); }
      partial = response.status === 206;
      text = await response.text();
    } catch (error) {
      if (token === current.job) { showError(el.jobError, "Could not read the row errors:", error); }
      return;
    }
    if (token !== current.job) { return; }
    var lines = text.split("\n");
    if (partial && !text.endsWith("\n")) { lines.pop(); }  // cut short by the range
    var shown = 0;
    clear(el.rowErrors);
    lines.forEach(function (line) {
      if (!line.trim() || shown >= ERRORS_SHOWN) { return; }
      var entry;
      try { entry = JSON.parse(line); } catch (ignored) { return; }
      var error = entry.error || {};
      var row = add(el.rowErrors, "tr");
      add(row, "td", entry.row);
      add(add(row, "td"), "code", error.code || "");
      add(add(row, "td"), "code", error.field == null ? "" : error.field);
      add(row, "td", error.message || "");
      shown += 1;
    });
    setText(el.rowErrorsCaption, "Rows that could not be scored" +
      (job.rows.failed > shown ? " (the first " + shown + " of " + job.rows.failed + ")" : " (" + shown + ")"));
    el.rowErrorsBox.hidden = shown === 0;
  }

  // ----- wiring -----

  try { el.key.value = window.sessionStorage.getItem(KEY_STORAGE) || ""; } catch (ignored) { /* storage off */ }
  $("key-form").addEventListener("submit", function (event) {
    event.preventDefault();
    try { window.sessionStorage.setItem(KEY_STORAGE, el.key.value.trim()); } catch (ignored) { /* storage off */ }
    loadModels();
  });
  el.model.addEventListener("change", function () { showModel(el.model.value); });
  el.reload.addEventListener("click", loadModels);
  el.scoreForm.addEventListener("submit", scoreRecord);
  el.resetExample.addEventListener("click", putExample);
  el.file.addEventListener("change", fileChosen);
  el.fileForm.addEventListener("submit", uploadFile);
  window.pfaPage = {apiBase: apiBase, formatFromName: formatFromName, typeText: typeText};
  loadModels();
}());
