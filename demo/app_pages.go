package demo

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	reportID       = "00O000000000001"
	apiAccountsURI = "/services/data/v60.0/sobjects/Account"
	downloadPrefix = "/sfc/servlet.shepherd/version/download/"
	uploadPath     = "/sfc/servlet.shepherd/upload"
	maxUploadBytes = 32 << 20
)

// accounts are the records of the demo's Account API.
var accounts = []struct{ ID, Name string }{
	{"001000000000001", "Acme Corp"},
	{"001000000000002", "Globex, Inc."},
	{"001000000000003", "Initech"},
}

// links are the absolute URLs the pages use; every one names one of the
// app's hosts, so a proxy must rewrite them.
type links struct {
	Home, Lightning, Files, Report, Export, Upload, UploadAction string
	Streaming, Logout, API, WS, Script, Login                    string
}

func (a *App) links() links {
	my, light, file := a.base(a.myHost), a.base(a.lightHost), a.base(a.fileHost)
	wsBase := "wss" + strings.TrimPrefix(my, "https")
	return links{
		Home:         my + "/home/home.jsp",
		Lightning:    light + "/lightning/page/home",
		Files:        light + "/lightning/o/ContentDocument/home",
		Report:       my + "/" + reportID,
		Export:       my + "/" + reportID + "?export=1&enc=UTF-8&xf=csv",
		Upload:       light + "/lightning/o/ContentDocument/upload",
		UploadAction: file + uploadPath,
		Streaming:    light + "/lightning/page/streaming",
		Logout:       my + "/secur/logout.jsp",
		API:          my + apiAccountsURI,
		WS:           wsBase + "/cometd/ws",
		Script:       light + "/lightning/static/app.js",
		Login:        my + "/",
	}
}

func (a *App) routes() http.Handler {
	my := http.NewServeMux()
	my.HandleFunc("POST /{$}", a.serveACS)
	my.HandleFunc("GET /{$}", a.withSession(func(w http.ResponseWriter, r *http.Request, _ appSession) {
		http.Redirect(w, r, a.HomeURL(), http.StatusFound)
	}))
	my.HandleFunc("GET /home/home.jsp", a.withSession(a.serveHome))
	my.HandleFunc("GET /"+reportID, a.withSession(a.serveReport))
	my.HandleFunc("GET "+apiAccountsURI, a.serveAccounts)
	my.HandleFunc("OPTIONS /services/data/", a.servePreflight)
	my.HandleFunc("GET /cometd/ws", a.serveWebSocket)
	my.HandleFunc("/secur/logout.jsp", a.serveLogout)
	my.HandleFunc("GET /lightning/", func(w http.ResponseWriter, r *http.Request) {
		// As Salesforce: Lightning paths on My Domain move to the
		// Lightning host.
		http.Redirect(w, r, a.base(a.lightHost)+r.URL.RequestURI(), http.StatusFound)
	})
	my.HandleFunc("/", a.notFound)

	light := http.NewServeMux()
	light.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, a.links().Lightning, http.StatusFound)
	})
	light.HandleFunc("GET /lightning/page/home", a.withSession(a.serveLightning))
	light.HandleFunc("GET /lightning/r/Account/{id}/view", a.withSession(a.serveAccount))
	light.HandleFunc("GET /lightning/o/ContentDocument/home", a.withSession(a.serveFiles))
	light.HandleFunc("GET /lightning/o/ContentDocument/upload", a.withSession(a.serveUploadForm))
	light.HandleFunc("GET /lightning/page/streaming", a.withSession(a.serveStreaming))
	light.HandleFunc("GET /lightning/static/app.js", a.serveScript)
	light.HandleFunc("/", a.notFound)

	file := http.NewServeMux()
	file.HandleFunc("GET "+downloadPrefix+"{id}", a.withSession(a.serveDownload))
	file.HandleFunc("POST "+uploadPath, a.serveUpload)
	file.HandleFunc("/", a.notFound)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		switch hostOnly(r.Host) {
		case a.myHost:
			my.ServeHTTP(w, r)
		case a.lightHost:
			light.ServeHTTP(w, r)
		case a.fileHost:
			file.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// withSession runs h for a signed-in user and starts an SP-initiated login
// for anyone else, returning them to the URL they asked for.
func (a *App) withSession(h func(http.ResponseWriter, *http.Request, appSession)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, _, ok := a.session(r)
		if !ok {
			a.startLogin(w, r, a.requestURL(r))
			return
		}
		h(w, r, s)
	}
}

type viewUser struct {
	Name, Email string
	Groups      []string
}

type view struct {
	Title string
	L     links
	User  viewUser
	Data  any
}

func (a *App) view(title string, s appSession, data any) view {
	return view{Title: title, L: a.links(), User: viewUser{Name: s.displayName, Email: s.email, Groups: s.groups}, Data: data}
}

// csp is the Content-Security-Policy of every page: the app's own hosts,
// by wildcard, as Salesforce names its domains.
func (a *App) csp() string {
	port := ""
	if a.port != 443 {
		port = ":" + strconv.Itoa(a.port)
	}
	hosts := "https://*." + a.domain + port
	return "default-src 'self' " + hosts + "; script-src 'self' " + hosts +
		"; style-src 'self' 'unsafe-inline' " + hosts + "; img-src 'self' data: " + hosts +
		"; connect-src 'self' " + hosts + " wss://*." + a.domain + port +
		"; form-action 'self' " + hosts + "; frame-ancestors 'self' " + hosts
}

func (a *App) renderHTML(w http.ResponseWriter, r *http.Request, status int, t *template.Template, v view) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		a.log.Error("demo app: render page", "page", t.Name(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", a.csp())
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate, private")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	if v.User.Email != "" {
		// An absolute URL in a header too, as Salesforce preloads its
		// scripts.
		h.Set("Link", "<"+v.L.Script+">; rel=preload; as=script")
	}
	writeBody(w, r, status, "text/html; charset=utf-8", buf.Bytes())
}

func (a *App) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	a.renderHTML(w, r, status, errorPage, view{Title: title, L: a.links(), Data: msg})
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.renderError(w, r, http.StatusNotFound, "Page not found", "The page you asked for does not exist.")
}

func (a *App) serveHome(w http.ResponseWriter, r *http.Request, s appSession) {
	a.renderHTML(w, r, http.StatusOK, homePage, a.view("Home", s, a.pageConfig()))
}

// pageConfig is a JSON data block in the home page naming the app's URLs in
// the escaped forms a proxy must rewrite inside HTML too.
func (a *App) pageConfig() template.JS {
	l := a.links()
	return template.JS(fmt.Sprintf(`{"home":%q,"api":"%s","files":"%s"}`,
		l.Home, strings.ReplaceAll(l.API, "/", `\/`), strings.ReplaceAll(l.Files, "/", `\u002F`)))
}

func (a *App) serveLightning(w http.ResponseWriter, r *http.Request, s appSession) {
	a.renderHTML(w, r, http.StatusOK, lightningPage, a.view("Lightning Experience", s, nil))
}

func (a *App) serveAccount(w http.ResponseWriter, r *http.Request, s appSession) {
	for _, acc := range accounts {
		if acc.ID == r.PathValue("id") {
			a.renderHTML(w, r, http.StatusOK, accountPage, a.view(acc.Name, s, acc))
			return
		}
	}
	a.notFound(w, r)
}

type fileRow struct {
	File
	URL  string
	Size int
}

func (a *App) fileRows(fs []File) []fileRow {
	rows := make([]fileRow, len(fs))
	for i, f := range fs {
		rows[i] = fileRow{File: f, URL: a.base(a.fileHost) + downloadPrefix + f.ID, Size: len(f.Content)}
	}
	return rows
}

func (a *App) serveFiles(w http.ResponseWriter, r *http.Request, s appSession) {
	data := struct{ Files, Uploads []fileRow }{a.fileRows(a.files), a.fileRows(a.Uploads())}
	a.renderHTML(w, r, http.StatusOK, filesPage, a.view("Files", s, data))
}

func (a *App) serveUploadForm(w http.ResponseWriter, r *http.Request, s appSession) {
	a.renderHTML(w, r, http.StatusOK, uploadPage, a.view("Upload a file", s, nil))
}

func (a *App) serveStreaming(w http.ResponseWriter, r *http.Request, s appSession) {
	a.renderHTML(w, r, http.StatusOK, streamingPage, a.view("Streaming", s, nil))
}

func (a *App) serveReport(w http.ResponseWriter, r *http.Request, s appSession) {
	q := r.URL.Query()
	if q.Get("export") != "1" {
		a.renderHTML(w, r, http.StatusOK, reportPage, a.view("Pipeline report", s, reportRows))
		return
	}
	if q.Get("xf") != "csv" {
		a.renderError(w, r, http.StatusBadRequest, "Export failed", "Only the csv format is supported.")
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	if err := cw.WriteAll(reportRows); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=UTF-8")
	h.Set("Content-Disposition", attachment("report.csv"))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "private, no-store")
	a.log.Info("demo app: report exported", "user", s.email)
	_, _ = w.Write(buf.Bytes())
}

func (a *App) serveDownload(w http.ResponseWriter, r *http.Request, s appSession) {
	found, ok := a.file(r.PathValue("id"))
	if !ok {
		a.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", found.MIME)
	h.Set("Content-Disposition", attachment(found.Name))
	h.Set("Content-Length", strconv.Itoa(len(found.Content)))
	h.Set("Cache-Control", "private, no-store")
	a.log.Info("demo app: file downloaded", "user", s.email, "file", found.Name)
	if r.Method != http.MethodHead {
		_, _ = w.Write(found.Content)
	}
}

// attachment is a Content-Disposition for a download as Salesforce writes
// it, attachment; filename="NAME", with RFC 2231 encoding for names that
// cannot be quoted as they are.
func attachment(name string) string {
	plain := name != "" && !strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' })
	if plain {
		return `attachment; filename="` + name + `"`
	}
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

// file finds a served or uploaded file by ID, without copying its bytes
// (neither list's entries change once added).
func (a *App) file(id string) (File, bool) {
	for _, f := range a.files {
		if f.ID == id {
			return f, true
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.uploads {
		if f.ID == id {
			return f, true
		}
	}
	return File{}, false
}

// serveUpload receives a multipart file part named "file". The form posts
// without script, so whatever answers (the app, or a proxy refusing the
// upload) is what the user sees.
func (a *App) serveUpload(w http.ResponseWriter, r *http.Request) {
	s, _, ok := a.session(r)
	if !ok {
		a.startLogin(w, r, a.links().Upload)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		a.renderError(w, r, http.StatusBadRequest, "Upload failed", "The upload was not a multipart form.")
		return
	}
	var got *File
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			a.renderError(w, r, http.StatusBadRequest, "Upload failed", "The upload could not be read (at most 32 MiB).")
			return
		}
		if part.FormName() != "file" || part.FileName() == "" || got != nil {
			_, _ = io.Copy(io.Discard, part)
			continue
		}
		content, err := io.ReadAll(part)
		if err != nil {
			a.renderError(w, r, http.StatusBadRequest, "Upload failed", "The upload could not be read (at most 32 MiB).")
			return
		}
		ctype := part.Header.Get("Content-Type")
		if ctype == "" {
			ctype = http.DetectContentType(content)
		}
		got = &File{Name: cleanFileName(part.FileName()), MIME: ctype, Content: content}
	}
	if got == nil {
		a.renderError(w, r, http.StatusBadRequest, "Upload failed", "Choose a file to upload.")
		return
	}
	a.mu.Lock()
	got.ID = fmt.Sprintf("068%012d", 1001+len(a.uploads))
	a.uploads = append(a.uploads, *got)
	a.mu.Unlock()
	a.log.Info("demo app: file uploaded", "user", s.email, "file", got.Name, "bytes", len(got.Content))
	a.renderHTML(w, r, http.StatusOK, uploadedPage, a.view("Upload complete", s, fileRow{File: *got, Size: len(got.Content)}))
}

// cleanFileName keeps the last path element of a browser-sent file name.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if !utf8.ValidString(name) || name == "." || name == "/" {
		return "upload"
	}
	return name
}

func (a *App) serveLogout(w http.ResponseWriter, r *http.Request) {
	if _, token, ok := a.session(r); ok {
		a.sessions.remove(token)
	}
	w.Header().Add("Set-Cookie", sessionCookie+"=; Domain=."+a.domain+"; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=None")
	a.renderHTML(w, r, http.StatusOK, logoutPage, view{Title: "Logged out", L: a.links()})
}

// allowOrigin sets the CORS headers for a request from one of the app's
// own origins (the Lightning page calls the API on My Domain).
func (a *App) allowOrigin(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	for _, h := range a.Hosts() {
		if origin == a.base(h) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			return
		}
	}
}

func (a *App) servePreflight(w http.ResponseWriter, r *http.Request) {
	a.allowOrigin(w, r)
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-SFDC-Session")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// serveAccounts is a REST API call answering JSON whose URLs come in the
// three spellings a rewriting proxy must handle: plain, "\/"-escaped and
// "\u002F"-escaped.
func (a *App) serveAccounts(w http.ResponseWriter, r *http.Request) {
	a.allowOrigin(w, r)
	if _, _, ok := a.session(r); !ok {
		writeBody(w, r, http.StatusUnauthorized, "application/json;charset=UTF-8",
			[]byte(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`))
		return
	}
	my, light, file := a.base(a.myHost), a.base(a.lightHost), a.base(a.fileHost)
	slash := func(s string) string { return strings.ReplaceAll(s, "/", `\/`) }
	uesc := func(s string) string { return strings.ReplaceAll(s, "/", `\u002F`) }
	var b strings.Builder
	fmt.Fprintf(&b, `{"totalSize":%d,"done":true,"records":[`, len(accounts))
	for i, acc := range accounts {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"attributes":{"type":"Account","url":"%s/%s"},"Id":"%s","Name":%q,"Website":"%s/%s","LightningUrl":"%s","PhotoUrl":"%s"}`,
			apiAccountsURI, acc.ID, acc.ID, acc.Name, my, acc.ID,
			slash(light+"/lightning/r/Account/"+acc.ID+"/view"),
			uesc(file+"/profilephoto/"+acc.ID+"/T"))
	}
	b.WriteString("]}")
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, r, http.StatusOK, "application/json;charset=UTF-8", []byte(b.String()))
}

func (a *App) serveScript(w http.ResponseWriter, r *http.Request) {
	l := a.links()
	js := strings.NewReplacer("{{API}}", l.API, "{{WS}}", l.WS).Replace(appScript)
	w.Header().Set("Cache-Control", "private, max-age=60")
	writeBody(w, r, http.StatusOK, "application/javascript; charset=utf-8", []byte(js))
}
