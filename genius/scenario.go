package genius

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Scenario is a domain with the profiles of its parties, as a GENIUS or
// GeniusWeb scenario folder holds them.
type Scenario struct {
	Space        *outcome.Space
	Profiles     []*utility.Profile // in file-name order, or the order given
	DomainFile   string
	ProfileFiles []string
	// Reference is a Pareto frontier shipped with the scenario, such as
	// ANAC 2014's pareto.xml: one utility vector per line, utilities in
	// profile order. It is nil if the folder has none.
	Reference [][]float64
}

// kind is what a file holds, judged by its content.
type kind int

const (
	unknownFile kind = iota
	domainXML
	profileXML
	domainJSON
	profileJSON
	frontierFile
)

// sniff tells what data holds from its first element or JSON keys, never
// from its name: GENIUS names are not consistent (Car/adg.xml is a domain).
func sniff(data []byte) kind {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(data) == 0 {
		return unknownFile
	}
	switch c := data[0]; {
	case c == '<':
		switch strings.ToLower(xmlRoot(data)) {
		case "negotiation_template":
			return domainXML
		case "utility_space":
			return profileXML
		}
	case c == '{':
		root, err := parseJSON(bytes.NewReader(data))
		if err != nil || root.kind != '{' {
			return profileJSON
		}
		if root.get("issuesValues") != nil {
			return domainJSON
		}
		return profileJSON
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		return frontierFile
	}
	return unknownFile
}

// xmlRoot returns the name of the first element of an XML document,
// skipping the declaration, comments and doctype, without parsing the rest:
// the reader that is chosen next reports any error with its line.
func xmlRoot(data []byte) string {
	for {
		i := bytes.IndexByte(data, '<')
		if i < 0 {
			return ""
		}
		data = data[i+1:]
		var end []byte
		switch {
		case bytes.HasPrefix(data, []byte("?")):
			end = []byte("?>")
		case bytes.HasPrefix(data, []byte("!--")):
			end = []byte("-->")
		case bytes.HasPrefix(data, []byte("!")):
			end = []byte(">")
		default:
			n := bytes.IndexFunc(data, func(r rune) bool { return r == '>' || r == '/' || r == ' ' || r == '\t' || r == '\r' || r == '\n' })
			if n < 0 {
				return string(data)
			}
			return string(data[:n])
		}
		k := bytes.Index(data, end)
		if k < 0 {
			return ""
		}
		data = data[k+len(end):]
	}
}

// LoadDir loads a scenario folder: exactly one domain file and one or more
// profile files, in GENIUS XML or GeniusWeb JSON (the two may be mixed),
// plus at most one shipped frontier. Each file's role is told by its
// content; files that are none of these (a README) are skipped, as are
// hidden files and subfolders. Profiles are named after their files.
func LoadDir(dir string) (*Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("genius: load scenario: %w", err)
	}
	var domain string
	var profiles, frontiers []string
	for _, e := range entries { // ReadDir sorts by name
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("genius: load scenario: %w", err)
		}
		switch sniff(data) {
		case domainXML, domainJSON:
			if domain != "" {
				return nil, &ParseError{File: dir, Err: fmt.Errorf("%w: two domain files, %s and %s", ErrFormat, filepath.Base(domain), e.Name())}
			}
			domain = path
		case profileXML, profileJSON:
			profiles = append(profiles, path)
		case frontierFile:
			frontiers = append(frontiers, path)
		}
	}
	if domain == "" {
		return nil, &ParseError{File: dir, Err: fmt.Errorf("%w: no domain file", ErrFormat)}
	}
	if len(profiles) == 0 {
		return nil, &ParseError{File: dir, Err: fmt.Errorf("%w: no profile file", ErrFormat)}
	}
	if len(frontiers) > 1 {
		return nil, &ParseError{File: dir, Err: fmt.Errorf("%w: two frontier files, %s and %s", ErrFormat, filepath.Base(frontiers[0]), filepath.Base(frontiers[1]))}
	}
	sc, err := LoadFiles(domain, profiles...)
	if err != nil {
		return nil, err
	}
	if len(frontiers) == 1 {
		if sc.Reference, err = readFrontier(frontiers[0], len(sc.Profiles)); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// LoadFiles loads a domain file and profile files, keeping the profiles in
// the order given. Each file may be GENIUS XML or GeniusWeb JSON.
func LoadFiles(domain string, profiles ...string) (*Scenario, error) {
	data, err := os.ReadFile(domain)
	if err != nil {
		return nil, fmt.Errorf("genius: load domain: %w", err)
	}
	sc := &Scenario{DomainFile: domain, ProfileFiles: profiles}
	switch sniff(data) {
	case domainXML:
		sc.Space, err = ReadDomain(bytes.NewReader(data))
	case domainJSON:
		sc.Space, err = ReadWebDomain(bytes.NewReader(data))
	case profileXML, profileJSON:
		err = fmt.Errorf("%w: a profile, not a domain", ErrFormat)
	default:
		err = fmt.Errorf("%w: neither GENIUS XML nor GeniusWeb JSON", ErrFormat)
	}
	if err != nil {
		return nil, withFile(err, domain)
	}
	for _, path := range profiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("genius: load profile: %w", err)
		}
		var p *utility.Profile
		switch sniff(data) {
		case profileXML:
			p, err = ReadProfile(bytes.NewReader(data), sc.Space)
		case profileJSON:
			p, err = ReadWebProfile(bytes.NewReader(data), sc.Space)
		case domainXML, domainJSON:
			err = fmt.Errorf("%w: a domain, not a profile", ErrFormat)
		default:
			err = fmt.Errorf("%w: neither GENIUS XML nor GeniusWeb JSON", ErrFormat)
		}
		if err != nil {
			return nil, withFile(err, path)
		}
		p.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		sc.Profiles = append(sc.Profiles, p)
	}
	return sc, nil
}

// readFrontier reads utility vectors, one per line, separated by commas
// or blanks; each must have one utility per profile.
func readFrontier(path string, n int) ([][]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("genius: load frontier: %w", err)
	}
	var out [][]float64
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		fields := strings.FieldsFunc(sc.Text(), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\r' })
		if len(fields) == 0 {
			continue
		}
		if len(fields) != n {
			return nil, &ParseError{File: path, Line: line, Err: fmt.Errorf("%w: %d utilities for %d profiles", ErrFormat, len(fields), n)}
		}
		row := make([]float64, n)
		for k, f := range fields {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, &ParseError{File: path, Line: line, Err: fmt.Errorf("%w: utility %q", ErrInvalid, f)}
			}
			row[k] = x
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: path, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
	}
	if len(out) == 0 {
		return nil, &ParseError{File: path, Err: fmt.Errorf("%w: empty frontier", ErrFormat)}
	}
	return out, nil
}
