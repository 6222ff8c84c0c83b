package charttest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The custom resources below carry the fields of their CRDs that this chart
// may render (KEDA 2.17+ keda.sh/v1alpha1, Prometheus Operator
// monitoring.coreos.com/v1). Strict decoding rejects anything else, so a
// misspelt field fails here; a new field the chart starts to use is added
// here first, after reading the operator's CRD.

// ScaledObject is KEDA's keda.sh/v1alpha1 ScaledObject.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ScaledObjectSpec `json:"spec"`
}

// ScaledObjectSpec is the spec of a ScaledObject.
type ScaledObjectSpec struct {
	ScaleTargetRef        *ScaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32          `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Advanced              *AdvancedConfig `json:"advanced,omitempty"`
	Triggers              []ScaleTrigger  `json:"triggers"`
	Fallback              *Fallback       `json:"fallback,omitempty"`
}

// ScaleTarget names the workload a ScaledObject scales.
type ScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

// AdvancedConfig is spec.advanced.
type AdvancedConfig struct {
	HorizontalPodAutoscalerConfig *HorizontalPodAutoscalerConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool                           `json:"restoreToOriginalReplicaCount,omitempty"`
}

// HorizontalPodAutoscalerConfig is what KEDA copies into the HPA it owns.
type HorizontalPodAutoscalerConfig struct {
	Name     string                                         `json:"name,omitempty"`
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// ScaleTrigger is one scaler. KEDA's metadata is a map of strings: a number
// or boolean there fails the CRD's validation.
type ScaleTrigger struct {
	Type              string                         `json:"type"`
	Name              string                         `json:"name,omitempty"`
	UseCachedMetrics  bool                           `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *AuthenticationRef             `json:"authenticationRef,omitempty"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

// AuthenticationRef points a trigger at a TriggerAuthentication.
type AuthenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// Fallback is spec.fallback.
type Fallback struct {
	FailureThreshold int32  `json:"failureThreshold"`
	Replicas         int32  `json:"replicas"`
	Behavior         string `json:"behavior,omitempty"`
}

// TemporalQueueTypes are the queueTypes KEDA's temporal scaler accepts.
var TemporalQueueTypes = []string{"workflow", "activity", "nexus"}

func (s *ScaledObject) validate() []string {
	var errs []string
	sp := s.Spec
	if sp.ScaleTargetRef == nil || sp.ScaleTargetRef.Name == "" {
		errs = append(errs, "spec.scaleTargetRef.name is required")
	}
	if len(sp.Triggers) == 0 {
		errs = append(errs, "spec.triggers is empty")
	}
	if sp.MaxReplicaCount != nil && *sp.MaxReplicaCount < 1 {
		errs = append(errs, "spec.maxReplicaCount must be at least 1")
	}
	if sp.MinReplicaCount != nil && sp.MaxReplicaCount != nil && *sp.MinReplicaCount > *sp.MaxReplicaCount {
		errs = append(errs, "spec.minReplicaCount is above spec.maxReplicaCount")
	}
	for i, t := range sp.Triggers {
		at := fmt.Sprintf("spec.triggers[%d] (%s)", i, t.Type)
		switch t.Type {
		case "":
			errs = append(errs, fmt.Sprintf("spec.triggers[%d].type is required", i))
		case "temporal":
			errs = append(errs, requireMeta(at, t.Metadata, "endpoint", "taskQueue")...)
			errs = append(errs, intMeta(at, t.Metadata, "targetQueueSize", 1)...)
			errs = append(errs, intMeta(at, t.Metadata, "activationTargetQueueSize", 0)...)
			if q, ok := t.Metadata["queueTypes"]; ok {
				for _, typ := range strings.Split(q, ",") {
					if !slices.Contains(TemporalQueueTypes, typ) {
						errs = append(errs, fmt.Sprintf("%s: queueTypes %q: %q is not one of %v", at, q, typ, TemporalQueueTypes))
					}
				}
			}
		case "prometheus":
			errs = append(errs, requireMeta(at, t.Metadata, "serverAddress", "query", "threshold")...)
			if v, ok := t.Metadata["threshold"]; ok {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					errs = append(errs, fmt.Sprintf("%s: threshold %q is not a number", at, v))
				}
			}
		}
		if t.AuthenticationRef != nil && t.AuthenticationRef.Name == "" {
			errs = append(errs, at+": authenticationRef.name is empty")
		}
	}
	return errs
}

func requireMeta(at string, m map[string]string, keys ...string) []string {
	var errs []string
	for _, k := range keys {
		if m[k] == "" {
			errs = append(errs, fmt.Sprintf("%s: metadata.%s is required", at, k))
		}
	}
	return errs
}

func intMeta(at string, m map[string]string, key string, min int64) []string {
	v, ok := m[key]
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return []string{fmt.Sprintf("%s: metadata.%s %q must be an integer >= %d", at, key, v, min)}
	}
	return nil
}

// TriggerAuthentication is KEDA's keda.sh/v1alpha1 TriggerAuthentication,
// limited to secretTargetRef.
type TriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              TriggerAuthenticationSpec `json:"spec"`
}

// TriggerAuthenticationSpec is the spec of a TriggerAuthentication.
type TriggerAuthenticationSpec struct {
	SecretTargetRef []SecretTargetRef `json:"secretTargetRef"`
}

// SecretTargetRef hands one key of a Secret to a scaler parameter.
type SecretTargetRef struct {
	Parameter string `json:"parameter"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// TemporalAuthParams are the authentication parameters KEDA's temporal
// scaler reads.
var TemporalAuthParams = []string{"apiKey", "cert", "key", "keyPassword", "ca"}

func (t *TriggerAuthentication) validate() []string {
	var errs []string
	if len(t.Spec.SecretTargetRef) == 0 {
		errs = append(errs, "spec.secretTargetRef is empty")
	}
	for i, r := range t.Spec.SecretTargetRef {
		if r.Parameter == "" || r.Name == "" || r.Key == "" {
			errs = append(errs, fmt.Sprintf("spec.secretTargetRef[%d] needs parameter, name and key", i))
		}
		if !slices.Contains(TemporalAuthParams, r.Parameter) {
			errs = append(errs, fmt.Sprintf("spec.secretTargetRef[%d].parameter %q is not one of the temporal scaler's %v", i, r.Parameter, TemporalAuthParams))
		}
	}
	return errs
}

// ServiceMonitor is the Prometheus Operator's monitoring.coreos.com/v1
// ServiceMonitor.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec is the spec of a ServiceMonitor.
type ServiceMonitorSpec struct {
	JobLabel          string               `json:"jobLabel,omitempty"`
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector *NamespaceSelector   `json:"namespaceSelector,omitempty"`
	Endpoints         []MonitorEndpoint    `json:"endpoints"`
}

// NamespaceSelector says which namespaces a ServiceMonitor looks in.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// MonitorEndpoint is one scraped port.
type MonitorEndpoint struct {
	Port          string `json:"port,omitempty"`
	Path          string `json:"path,omitempty"`
	Scheme        string `json:"scheme,omitempty"`
	Interval      string `json:"interval,omitempty"`
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
	HonorLabels   bool   `json:"honorLabels,omitempty"`
}

func (s *ServiceMonitor) validate() []string {
	var errs []string
	if len(s.Spec.Selector.MatchLabels) == 0 && len(s.Spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, "spec.selector is empty: it would select every Service")
	}
	if len(s.Spec.Endpoints) == 0 {
		errs = append(errs, "spec.endpoints is empty")
	}
	for i, e := range s.Spec.Endpoints {
		if e.Port == "" {
			errs = append(errs, fmt.Sprintf("spec.endpoints[%d].port is required", i))
		}
		var iv, to time.Duration
		for _, f := range []struct {
			name string
			v    string
			d    *time.Duration
		}{{"interval", e.Interval, &iv}, {"scrapeTimeout", e.ScrapeTimeout, &to}} {
			if f.v == "" {
				continue
			}
			d, err := time.ParseDuration(f.v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("spec.endpoints[%d].%s %q: %v", i, f.name, f.v, err))
			}
			*f.d = d
		}
		if iv > 0 && to > iv {
			errs = append(errs, fmt.Sprintf("spec.endpoints[%d].scrapeTimeout %s is longer than interval %s", i, e.ScrapeTimeout, e.Interval))
		}
	}
	return errs
}
