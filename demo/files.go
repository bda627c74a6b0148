package demo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
)

// sampleFiles returns the app's downloadable files: a PDF-like binary, a
// text file naming the app's own URL (a proxy must hand it over untouched,
// since it is a download, not a page) and an .xlsx-like binary. The bytes
// are the same on every run.
func sampleFiles(myBase string) []File {
	rng := rand.New(rand.NewPCG(0x5eed, 0xf11e))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var pdf bytes.Buffer
	pdf.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	pdf.WriteString("2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n3 0 obj\n<< /Length 262144 >>\nstream\n")
	pdf.Write(noise(256 << 10))
	pdf.WriteString("\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

	notes := fmt.Sprintf("Account plan notes\n\nQ3 pipeline review with the sales team.\nOpen the org at %s/home/home.jsp\nNext call: Tuesday.\n", myBase)

	var xlsx bytes.Buffer
	xlsx.WriteString("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")
	xlsx.WriteString("[Content_Types].xml")
	xlsx.Write(noise(48 << 10))

	return []File{
		{ID: "068000000000001", Name: "Q3-Forecast.pdf", MIME: "application/pdf", Content: pdf.Bytes()},
		{ID: "068000000000002", Name: "account-notes.txt", MIME: "text/plain; charset=utf-8", Content: []byte(notes)},
		{ID: "068000000000003", Name: "Pipeline.xlsx", MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Content: xlsx.Bytes()},
	}
}

// reportRows are the rows of the demo report and its CSV export.
var reportRows = [][]string{
	{"Opportunity Name", "Account Name", "Stage", "Amount", "Close Date", "Owner"},
	{"Acme - 200 Widgets", "Acme Corp", "Prospecting", "20000.00", "2026-12-15", "Alice Adams"},
	{"Globex Renewal", "Globex, Inc.", "Negotiation/Review", "125000.00", "2026-12-31", "Alice Adams"},
	{"Initech \"TPS\" Upgrade", "Initech", "Closed Won", "48000.00", "2026-11-02", "Bob Brown"},
	{"Umbrella Pilot", "Umbrella Corporation", "Qualification", "9500.00", "2027-01-20", "Bob Brown"},
}
