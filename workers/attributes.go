package workers

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/workflows"
)

// MissingSearchAttributesError says which of genius's search attributes a
// namespace lacks (or has with another type) and why they were not
// registered. Without them every search's first workflow task fails.
type MissingSearchAttributesError struct {
	Namespace string
	// Missing are the attributes to create.
	Missing []workflows.SearchAttribute
	// WrongType lists attributes that exist with another type, as
	// "name is T, want U"; they cannot be fixed by creating them.
	WrongType []string
	// Cause is why registering failed; nil when it was not tried.
	Cause error
}

func (e *MissingSearchAttributesError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		names := make([]string, len(e.Missing))
		for i, a := range e.Missing {
			names[i] = a.Name
		}
		parts = append(parts, "lacks "+strings.Join(names, ", "))
	}
	if len(e.WrongType) > 0 {
		parts = append(parts, "has "+strings.Join(e.WrongType, "; "))
	}
	msg := fmt.Sprintf("namespace %s %s", e.Namespace, strings.Join(parts, " and "))
	if e.Cause != nil {
		msg += fmt.Sprintf(" (registering them failed: %v)", e.Cause)
	}
	return msg
}

func (e *MissingSearchAttributesError) Unwrap() error { return e.Cause }

// Commands are the temporal CLI commands that create the missing
// attributes.
func (e *MissingSearchAttributesError) Commands() []string {
	cmds := make([]string, len(e.Missing))
	for i, a := range e.Missing {
		cmds[i] = fmt.Sprintf("temporal operator search-attribute create --namespace %s --name %s --type %s", e.Namespace, a.Name, a.Type)
	}
	return cmds
}

// EnsureSearchAttributes checks that namespace has every attribute of
// workflows.SearchAttributes with its type. With register it adds the
// missing ones (a dev server and self-hosted clusters allow it; Temporal
// Cloud and restricted roles do not) and returns their names. Anything
// still missing is a *MissingSearchAttributesError.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, register bool) (added []string, err error) {
	ops := c.OperatorService()
	list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list the search attributes of namespace %s: %w", namespace, err)
	}
	have := list.GetCustomAttributes()
	e := &MissingSearchAttributesError{Namespace: namespace}
	want := map[string]enumspb.IndexedValueType{}
	for _, a := range workflows.SearchAttributes() {
		typ, err := enumspb.IndexedValueTypeFromString(a.Type)
		if err != nil {
			return nil, fmt.Errorf("search attribute %s: %w", a.Name, err)
		}
		got, ok := have[a.Name]
		switch {
		case !ok:
			e.Missing = append(e.Missing, a)
			want[a.Name] = typ
		case got != typ:
			e.WrongType = append(e.WrongType, fmt.Sprintf("%s of type %s, want %s", a.Name, shortType(got), a.Type))
		}
	}
	if len(e.Missing) > 0 && register {
		_, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: want})
		if err == nil {
			for _, a := range e.Missing {
				added = append(added, a.Name)
			}
			e.Missing = nil
		} else {
			e.Cause = err
		}
	}
	if len(e.Missing) > 0 || len(e.WrongType) > 0 {
		return added, e
	}
	return added, nil
}

// shortType spells an indexed value type as the CLI does (Keyword, Double).
func shortType(t enumspb.IndexedValueType) string {
	for name, v := range enumspb.IndexedValueType_shorthandValue {
		if enumspb.IndexedValueType(v) == t {
			return name
		}
	}
	return t.String()
}
