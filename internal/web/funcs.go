package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
	"github.com/backchannel/backchannel/outcome"
)

// assets are the embedded static files, read once.
var assets = newStaticFiles()

// funcs are the functions every template may call.
var funcs = template.FuncMap{
	// asset returns the URL of a static file with its version, so that
	// browsers may cache it for good.
	"asset": func(name string) string { return "/static/" + name + "?v=" + assets.version(name) },
	// when formats a time for people: "27 Nov 2026, 14:05 UTC".
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2 Jan 2006, 15:04 MST")
	},
	// iso formats a time for a <time datetime> attribute.
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// localInput formats a time for an <input type="datetime-local"> (UTC).
	"localInput": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04")
	},
	// role returns a role's label: "Principal".
	"role": func(r talks.Role) string {
		s := string(r)
		if s == "" {
			return ""
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"backchannel": func(t *talks.Track) bool { return t != nil && t.Kind == talks.TrackBackchannel },
	// inc counts from one what range counts from zero.
	"inc": func(i int) int { return i + 1 },
	// eventTypes lists the event types a live page listens to.
	"eventTypes": func() string { return strings.Join(talks.EventTypes, " ") },
	"field":      newField,
	// minutes formats a duration for people: "90 minutes", "2 h 30 min".
	"minutes": func(d time.Duration) string {
		m := int(d / time.Minute)
		switch {
		case m < 60:
			return fmt.Sprintf("%d minutes", m)
		case m%60 == 0:
			return fmt.Sprintf("%d h", m/60)
		}
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	},
	"attendees": newAttendees,
	// values describes the values an issue can take.
	"values": func(is outcome.Issue) string {
		switch is.Kind {
		case outcome.Integer:
			return fmt.Sprintf("a whole number from %d to %d", is.Lower, is.Upper)
		case outcome.Real:
			return fmt.Sprintf("a number from %g to %g (step %g)", is.Low, is.High, is.Step)
		}
		return strings.Join(is.Values, ", ")
	},
}

// formField is what the "field" template renders: a labelled control, what
// was typed into it, and its error.
type formField struct {
	Name, Label, Type, Value, Error, Hint, Autocomplete string
	Required                                            bool
}

// newField returns the field name of a form with errs.
func newField(name, label, typ, value string, errs formErrors, hint string) formField {
	f := formField{Name: name, Label: label, Type: typ, Value: value, Error: errs[name], Hint: hint}
	switch {
	case typ == "email":
		f.Autocomplete = "email"
	case typ == "password" && strings.HasPrefix(name, "new"):
		f.Autocomplete = "new-password"
	case typ == "password":
		f.Autocomplete = "current-password"
	case name == "name":
		f.Autocomplete = "name"
	}
	return f
}

// attendeesField is what the "attendees" template renders.
type attendeesField struct {
	Members []*talks.Member
	Form    meetingForm
	Error   string
	Names   map[int64]string
}

func newAttendees(ms []*talks.Member, f meetingForm, errs formErrors, names map[int64]string) attendeesField {
	return attendeesField{Members: ms, Form: f, Error: errs["attendee"], Names: names}
}
