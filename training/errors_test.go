package training

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training/data"
)

// TestSettingErrors: settings that do not fit the data or the space fail
// with a SettingError naming the Config field, and NameSetting adds the
// caller's name for it.
func TestSettingErrors(t *testing.T) {
	names := map[string]string{"Arch": "--arch", "Batch": "--batch", "Classes": "--classes"}
	tiny := &data.Random{N: 4, NumClasses: 10, Size: 8}
	cfg := Config{Space: "nas-bench-macro", Arch: []int{0, 0, 0, 0, 0, 0, 0, 0}, Input: 8, Recipe: recipe.Recipe{Batch: 8, Steps: 1}}
	wrongArch := cfg
	wrongArch.Arch, wrongArch.Batch = []int{0, 0}, 2
	wrongClasses := cfg
	wrongClasses.Classes, wrongClasses.Batch = 100, 2
	for _, tc := range []struct {
		name, setting string
		cfg           Config
	}{
		{"batch", "Batch", cfg},
		{"arch", "Arch", wrongArch},
		{"classes", "Classes", wrongClasses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(context.Background(), tc.cfg, tiny, nil, Options{})
			var se *SettingError
			if !errors.As(err, &se) || se.Setting != tc.setting {
				t.Fatalf("err %v, want a SettingError for %s", err, tc.setting)
			}
			if strings.Contains(err.Error(), "--") {
				t.Errorf("the library names a flag: %v", err)
			}
			if named := NameSetting(err, names); !strings.HasSuffix(named.Error(), "change "+names[tc.setting]) || !errors.As(named, &se) {
				t.Errorf("named: %v", named)
			}
		})
	}
	if other := errors.New("disk full"); NameSetting(other, names) != other {
		t.Error("NameSetting changed an error that is not a SettingError")
	}
}
