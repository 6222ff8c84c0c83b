package retrain

import (
	"strings"
	"testing"
)

// A key-like field anywhere in a retrain spec is refused, naming its path,
// without repeating the value.
func TestParseRefusesSecrets(t *testing.T) {
	for _, tc := range []struct{ json, field string }{
		{`{"space":"mobilenetv2-imagenet","epochs":1,"batch":8,"lr":0.1,"arch":[1],"awsSecretAccessKey":"sk-123"}`, "awsSecretAccessKey"},
		{`{"space":"mobilenetv2-imagenet","epochs":1,"batch":8,"lr":0.1,"arch":[1],"data":{"dir":"s3://b/x","TOKEN":"sk-123"}}`, "data.TOKEN"},
	} {
		_, err := Parse([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), `"`+tc.field+`" looks like a secret`) || strings.Contains(err.Error(), "sk-123") {
			t.Errorf("Parse(%s) = %v, want a secret error naming %s without the value", tc.json, err, tc.field)
		}
	}
}
