package demo

import "html/template"

const appLayout = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} | Demo Salesforce</title>
<link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f3f3f3;color:#181818}
header{background:#0176d3;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header .brand{font-weight:700}
header .user{margin-left:auto;font-size:.9rem}
main{max-width:60rem;margin:1.5rem auto;background:#fff;padding:1.5rem;border-radius:.3rem;box-shadow:0 1px 3px #0002}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}
.error{color:#ba0517;font-weight:600}
</style></head>
<body>
<header><a class="brand" id="nav-home" href="{{.L.Home}}">Demo Salesforce</a>
{{if .User.Email}}<nav>
<a id="nav-lightning" href="{{.L.Lightning}}">Lightning</a>
<a id="nav-files" href="{{.L.Files}}">Files</a>
<a id="nav-report" href="{{.L.Report}}">Pipeline report</a>
<a id="nav-upload" href="{{.L.Upload}}">Upload</a>
<a id="nav-streaming" href="{{.L.Streaming}}">Streaming</a>
<a id="nav-logout" href="{{.L.Logout}}">Log out</a>
</nav>
<span class="user">Signed in as <span id="user-name">{{.User.Name}}</span> (<span id="user-email">{{.User.Email}}</span>)</span>{{end}}
</header>
<main>
{{template "content" .}}
</main>
{{if .User.Email}}<script src="{{.L.Script}}"></script>{{end}}
</body></html>
`

func layoutPage(content string) *template.Template {
	t := template.Must(template.New("layout").Parse(appLayout))
	return template.Must(t.New("content").Parse(content)).Lookup("layout")
}

var homePage = layoutPage(`<h1 id="home-title">Home</h1>
<p>Welcome, {{.User.Name}}.{{if .User.Groups}} Groups: <span id="user-groups">{{range $i, $g := .User.Groups}}{{if $i}}, {{end}}{{$g}}{{end}}</span>.{{end}}</p>
<h2>Recent records</h2>
<ul id="recent">
<li><a id="recent-account" href="{{.L.Lightning}}">Accounts (Lightning)</a></li>
<li><a id="recent-report" href="{{.L.Report}}">Pipeline report</a></li>
<li><a id="recent-file" href="{{.L.Files}}">Files</a></li>
</ul>
<form id="search-form" method="get" action="{{.L.Lightning}}">
<input type="search" id="search" name="q" placeholder="Search Demo Salesforce">
<button type="submit" id="search-submit">Search</button>
</form>
<script type="application/json" id="page-config">{{.Data}}</script>
`)

var lightningPage = layoutPage(`<h1 id="lightning-title">Lightning Experience</h1>
<h2>Accounts</h2>
<p id="accounts-status" data-state="loading">Loading accounts…</p>
<ul id="accounts" data-api="{{.L.API}}"></ul>
`)

var accountPage = layoutPage(`<h1 id="account-title">{{.Data.Name}}</h1>
<p>Account <span id="account-id">{{.Data.ID}}</span>.</p>
<p><a id="back-lightning" href="{{.L.Lightning}}">Back to accounts</a></p>
`)

var filesPage = layoutPage(`<h1 id="files-title">Files</h1>
<table id="files"><thead><tr><th>Name</th><th>Type</th><th>Size</th></tr></thead><tbody>
{{range .Data.Files}}<tr><td><a id="file-{{.ID}}" href="{{.URL}}">{{.Name}}</a></td><td>{{.MIME}}</td><td>{{.Size}} bytes</td></tr>
{{end}}</tbody></table>
{{if .Data.Uploads}}<h2>Uploaded</h2><ul id="uploads">{{range .Data.Uploads}}
<li><a id="file-{{.ID}}" href="{{.URL}}">{{.Name}}</a> ({{.Size}} bytes)</li>{{end}}
</ul>{{end}}
<p><a id="files-upload" href="{{.L.Upload}}">Upload a file</a></p>
`)

var uploadPage = layoutPage(`<h1 id="upload-title">Upload a file</h1>
<form id="upload-form" method="post" enctype="multipart/form-data" action="{{.L.UploadAction}}">
<input type="file" id="upload-file" name="file" required>
<button type="submit" id="upload-submit">Upload</button>
</form>
`)

var uploadedPage = layoutPage(`<h1 id="upload-title">Upload complete</h1>
<p id="upload-result">Uploaded {{.Data.Name}} ({{.Data.Size}} bytes)</p>
<p><a id="upload-back" href="{{.L.Files}}">Back to files</a></p>
`)

var reportPage = layoutPage(`<h1 id="report-title">Pipeline report</h1>
<p><a id="export-csv" href="{{.L.Export}}">Export (CSV)</a></p>
<table id="report-table">{{range $i, $row := .Data}}{{if eq $i 0}}
<thead><tr>{{range $row}}<th>{{.}}</th>{{end}}</tr></thead><tbody>{{else}}
<tr>{{range $row}}<td>{{.}}</td>{{end}}</tr>{{end}}{{end}}
</tbody></table>
`)

var streamingPage = layoutPage(`<h1 id="streaming-title">Streaming</h1>
<p>Status: <span id="ws-status" data-socket="{{.L.WS}}">connecting</span></p>
<form id="ws-form">
<input type="text" id="ws-input" value="hello" autocomplete="off">
<button type="submit" id="ws-send">Send</button>
</form>
<ul id="ws-log"></ul>
`)

var logoutPage = layoutPage(`<h1 id="logout-title">You are logged out</h1>
<p><a id="login-again" href="{{.L.Login}}">Log in again</a></p>
`)

var errorPage = layoutPage(`<h1 id="error-title">{{.Title}}</h1>
<p id="error-message" class="error">{{.Data}}</p>
<p><a id="error-home" href="{{.L.Home}}">Home</a></p>
`)

// appScript is the app's JavaScript, served from the Lightning host; its
// absolute URLs ({{API}}, {{WS}}) name the My Domain host.
const appScript = `(function () {
  "use strict";
  var api = "{{API}}";
  var wsURL = "{{WS}}";

  var list = document.getElementById("accounts");
  var status = document.getElementById("accounts-status");
  if (list && status) {
    fetch(api, {credentials: "include", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) {
        data.records.forEach(function (rec) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.id = "account-" + rec.Id;
          a.href = rec.LightningUrl;
          a.textContent = rec.Name;
          li.appendChild(a);
          li.appendChild(document.createTextNode(" · "));
          var site = document.createElement("a");
          site.id = "account-site-" + rec.Id;
          site.href = rec.Website;
          site.textContent = "Classic";
          li.appendChild(site);
          li.dataset.photo = rec.PhotoUrl;
          list.appendChild(li);
        });
        status.textContent = data.totalSize + " accounts";
        status.dataset.state = "loaded";
      })
      .catch(function (err) {
        status.textContent = "Could not load accounts: " + err.message;
        status.dataset.state = "error";
      });
  }

  var form = document.getElementById("ws-form");
  var wsStatus = document.getElementById("ws-status");
  if (form && wsStatus) {
    var input = document.getElementById("ws-input");
    var log = document.getElementById("ws-log");
    var ws = new WebSocket(wsURL);
    ws.onopen = function () { wsStatus.textContent = "open"; };
    ws.onclose = function () { wsStatus.textContent = "closed"; };
    ws.onerror = function () { wsStatus.textContent = "error"; };
    ws.onmessage = function (ev) {
      var li = document.createElement("li");
      li.className = "ws-echo";
      li.textContent = ev.data;
      log.appendChild(li);
    };
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (ws.readyState === WebSocket.OPEN) { ws.send(input.value); }
    });
  }
})();
`
