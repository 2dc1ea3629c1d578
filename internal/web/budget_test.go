package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/internal/talks"
)

// PageBudget is the most a page may weigh, gzip-compressed: the page itself
// and every static asset it references (issue 5: "under 150 KB of static
// assets per page, gzip-compressed").
const PageBudget = 150 * 1024

var (
	scriptSrcRE = regexp.MustCompile(`(?i)<script\b[^>]*\bsrc="([^"]+)"`)
	linkHrefRE  = regexp.MustCompile(`(?i)<link\b[^>]*\bhref="([^"]+)"`)
	cssURLRE    = regexp.MustCompile(`url\(\s*['"]?([^'")]+)['"]?\s*\)`)
)

// fetched is one response as it travels: Wire is the body's size on the
// wire (compressed if the server compressed it), Body the decoded body.
type fetched struct {
	Status int
	Gzip   bool
	Wire   int
	Body   []byte
	Type   string
}

// fetchGzip GETs path with the browser's cookies, asking for gzip, and
// reports the size of the body as sent.
func (b *browser) fetchGzip(t *testing.T, path string) fetched {
	t.Helper()
	req, err := http.NewRequest("GET", b.e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Set by hand, the transport leaves the body compressed.
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	wire, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	f := fetched{Status: res.StatusCode, Wire: len(wire), Body: wire, Type: res.Header.Get("Content-Type")}
	if res.Header.Get("Content-Encoding") == "gzip" {
		f.Gzip = true
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if f.Body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return f
}

// gzipSize is the size of p compressed with gzip at the default level.
func gzipSize(p []byte) int {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(p)
	zw.Close()
	return buf.Len()
}

// assetsOf returns the local URLs (paths) that page body references with
// <script src> and <link href>, each once, in order.
func assetsOf(t *testing.T, base string, body []byte) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, re := range []*regexp.Regexp{scriptSrcRE, linkHrefRE} {
		for _, m := range re.FindAllSubmatch(body, -1) {
			if p := localPath(t, base, html.UnescapeString(string(m[1]))); p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// localPath resolves ref against base and returns its path and query, or ""
// for a data: URL. A reference to another host fails the test: every asset
// comes from this server.
func localPath(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(ref)
	if err != nil {
		t.Errorf("asset %q: %v", ref, err)
		return ""
	}
	if u.Scheme == "data" {
		return ""
	}
	if u.Host != b.Host {
		t.Errorf("asset %q is not on this server", ref)
		return ""
	}
	return u.RequestURI()
}

// TestPageBudget weighs each main page with everything it loads,
// gzip-compressed, against PageBudget. A page that the server sends
// uncompressed is counted as if gzip-compressed, as a proxy in front of it
// would send it (the log says which).
func TestPageBudget(t *testing.T) {
	e := newEnv(t)
	d := e.demo
	type page struct{ name, who, path string }
	pages := []page{
		{"login", "", "/login"},
		{"my talks", "n.envoy1", "/"},
		{"talk", "n.envoy1", fmt.Sprintf("/talks/%d", d.Talk.ID)},
		{"official track", "n.envoy1", fmt.Sprintf("/tracks/%d", d.Official.ID)},
		{"back-channel", "n.envoy1", fmt.Sprintf("/tracks/%d", d.Back.ID)},
		{"proposal", "n.envoy1", fmt.Sprintf("/proposals/%d", d.Proposal.ID)},
		{"account", "n.envoy1", "/account"},
		{"invitations", "n.principal", fmt.Sprintf("/talks/%d/invitations", d.Talk.ID)},
		{"agreement", "n.envoy1", fmt.Sprintf("/talks/%d/agreement", d.Talk.ID)},
	}
	browsers := map[string]*browser{"": e.browser(t)}
	for _, p := range pages {
		if p.name == "agreement" {
			// Both parties accept Southland's counter-proposal.
			ctx := context.Background()
			for _, key := range []string{"n.envoy1", "s.envoy1"} {
				if err := e.svc.AnswerVersion(d.As(ctx, key), &talks.Answer{VersionID: d.Counter.ID, Kind: talks.AnswerAccept}); err != nil {
					t.Fatalf("accept as %s: %v", key, err)
				}
			}
		}
		b := browsers[p.who]
		if b == nil {
			b = e.login(t, p.who)
			browsers[p.who] = b
		}
		doc := b.fetchGzip(t, p.path)
		if doc.Status != http.StatusOK {
			t.Errorf("%s: GET %s = %d, want 200", p.name, p.path, doc.Status)
			continue
		}
		total, docSize := 0, doc.Wire
		how := "gzip from the server"
		if !doc.Gzip {
			docSize = gzipSize(doc.Body)
			how = fmt.Sprintf("sent uncompressed, %.1f KB", float64(doc.Wire)/1024)
		}
		total += docSize
		assets := assetsOf(t, e.srv.URL+p.path, doc.Body)
		if len(assets) == 0 {
			t.Errorf("%s: found no <script src> or <link href> in the page; the budget would weigh nothing", p.name)
		}
		for i := 0; i < len(assets); i++ {
			a := b.fetchGzip(t, assets[i])
			if a.Status != http.StatusOK {
				t.Errorf("%s: asset %s = %d, want 200", p.name, assets[i], a.Status)
				continue
			}
			total += a.Wire
			// A stylesheet's own references (fonts, images) load with it.
			if strings.HasPrefix(a.Type, "text/css") {
				for _, m := range cssURLRE.FindAllSubmatch(a.Body, -1) {
					if u := localPath(t, e.srv.URL+assets[i], string(m[1])); u != "" && !slices.Contains(assets, u) {
						assets = append(assets, u)
					}
				}
			}
		}
		t.Logf("%-15s %6.1f KB gzip = page %5.1f KB (%s) + %d assets %6.1f KB %v",
			p.name, float64(total)/1024, float64(docSize)/1024, how, len(assets), float64(total-docSize)/1024, assets)
		if total > PageBudget {
			t.Errorf("%s (%s) weighs %.1f KB gzip-compressed with its assets, over the budget of %d KB", p.name, p.path, float64(total)/1024, PageBudget/1024)
		}
	}
}
