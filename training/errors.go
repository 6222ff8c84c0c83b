package training

import (
	"errors"
	"fmt"
)

// SettingError is a Config setting that does not fit the data or the
// search space. Setting names the Config field ("Arch", "Batch",
// "Classes"), so a caller can say which of its own flags or spec fields to
// change.
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return "training: " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

func settingError(setting, format string, args ...any) error {
	return &SettingError{Setting: setting, Err: fmt.Errorf(format, args...)}
}

// NameSetting adds to a SettingError in err the caller's name for its
// setting (a flag, a spec field) from names, keyed by Config field; other
// errors pass unchanged.
func NameSetting(err error, names map[string]string) error {
	var se *SettingError
	if errors.As(err, &se) && names[se.Setting] != "" {
		return fmt.Errorf("%w: change %s", err, names[se.Setting])
	}
	return err
}
