package web

// formField is one input of a form as the "field" component draws it: its
// label, what was typed, and the reason it was refused, next to it.
type formField struct {
	Name, Label, Value, Error string
	InputMode                 string // e.g. "decimal", for the phone keyboard
	Required                  bool
	TextArea                  bool // a multi-line text, the whole width of the form
}

// fieldErrors are a refused form's reasons by field name.
type fieldErrors map[string]string
