package agent

import (
	"fmt"
	"slices"
	"strings"

	"github.com/backchannel/backchannel/mechanism"
)

var registry = map[string]func() mechanism.Negotiator{
	"boulware":  func() mechanism.Negotiator { return Boulware() },
	"linear":    func() mechanism.Negotiator { return Linear() },
	"conceder":  func() mechanism.Negotiator { return Conceder() },
	"hardliner": func() mechanism.Negotiator { return &Hardliner{} },
	"random":    func() mechanism.Negotiator { return &Random{} },
	"titfortat": func() mechanism.Negotiator { return &TitForTat{} },
	"micro":     func() mechanism.Negotiator { return &MiCRO{} },
	"frequency": func() mechanism.Negotiator { return NewModelBased() },
}

// New returns a new negotiator by name: "boulware", "linear" and
// "conceder" (TimeBased), "hardliner", "random", "titfortat", "micro", and
// "frequency" (ModelBased). Names are case-insensitive. An unknown name
// is an error wrapping ErrUnknown that lists the known names.
func New(name string) (mechanism.Negotiator, error) {
	mk, ok := registry[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return mk(), nil
}

// Names returns the names New knows, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
