package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// staticFiles serves the embedded assets under /static/, each compressed
// once at start for clients that accept gzip, with a strong ETag and a
// cache lifetime that a version query (?v=hash, see assetURL) makes safe.
type staticFiles struct {
	files map[string]*staticFile // by path under static/
}

type staticFile struct {
	raw, gz []byte
	etag    string
	ctype   string
}

func newStaticFiles() *staticFiles {
	s := &staticFiles{files: map[string]*staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		raw, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		f := &staticFile{raw: raw, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: mime.TypeByExtension(path.Ext(p))}
		if f.ctype == "" {
			f.ctype = "application/octet-stream"
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(raw)
		zw.Close()
		if buf.Len() < len(raw) {
			f.gz = buf.Bytes()
		}
		s.files[strings.TrimPrefix(p, "static/")] = f
		return nil
	})
	if err != nil {
		panic(err)
	}
	return s
}

// version returns the short hash of asset name, for cache busting.
func (s *staticFiles) version(name string) string {
	if f := s.files[name]; f != nil {
		return strings.Trim(f.etag, `"`)
	}
	return ""
}

func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := s.files[strings.TrimPrefix(r.URL.Path, "/static/")]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.raw
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
