package charttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Document is one rendered manifest, decoded.
type Document struct {
	// Source is the template that rendered it (helm's "# Source:" line).
	Source     string
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Labels of the object's own metadata.
	Labels map[string]string
	// JSON is the document converted from YAML.
	JSON []byte
	// Object is a pointer to the typed value: *appsv1.Deployment,
	// *corev1.Service, *ScaledObject, ... (see Kinds).
	Object any
}

// ID names the document in messages: "Deployment/genius-cpu-worker".
func (d Document) ID() string { return d.Kind + "/" + d.Name }

// Kinds maps "apiVersion/kind" to a constructor of the type it decodes into.
// A rendered kind missing here is an error: the chart must not grow a kind
// that nothing checks.
var Kinds = map[string]func() any{
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return &ScaledObject{} },
	"keda.sh/v1alpha1/TriggerAuthentication":  func() any { return &TriggerAuthentication{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &ServiceMonitor{} },
}

// Parse splits helm template output into documents and decodes each one
// strictly (see DecodeStrict). Empty documents are dropped. The error lists
// every bad document.
func Parse(rendered []byte) ([]Document, error) {
	var docs []Document
	var errs []error
	for _, chunk := range splitDocuments(rendered) {
		d, err := DecodeStrict(chunk)
		if errors.Is(err, errEmpty) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, d)
	}
	return docs, errors.Join(errs...)
}

var errEmpty = errors.New("empty document")

// DecodeStrict decodes one YAML document into the type Kinds gives for its
// apiVersion and kind. Duplicate keys, fields the type does not have,
// fields whose case differs from the API's, and values of the wrong type
// are errors; so are invalid names and labels. Custom resources are also
// checked for the fields their operator requires.
func DecodeStrict(doc []byte) (Document, error) {
	d := Document{Source: sourceOf(doc)}
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return d, fmt.Errorf("%s: %w", d.Source, err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return d, errEmpty
	}
	d.JSON = js
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return d, fmt.Errorf("%s: %w", d.Source, err)
	}
	d.APIVersion, d.Kind = head.APIVersion, head.Kind
	d.Name, d.Namespace, d.Labels = head.Metadata.Name, head.Metadata.Namespace, head.Metadata.Labels
	where := fmt.Sprintf("%s (%s %s)", d.Source, d.Kind, d.Name)
	newObj, ok := Kinds[d.APIVersion+"/"+d.Kind]
	if !ok {
		return d, fmt.Errorf("%s: apiVersion %q kind %q is not one charttest knows: add it to Kinds with a type to decode into", where, d.APIVersion, d.Kind)
	}
	obj := newObj()
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return d, fmt.Errorf("%s: %w", where, err)
	}
	if len(strict) > 0 {
		return d, fmt.Errorf("%s: %w", where, errors.Join(strict...))
	}
	d.Object = obj
	var errs []string
	errs = append(errs, checkMeta(d.Kind, head.Metadata.Name, head.Metadata.Labels, head.Metadata.Annotations)...)
	if v, ok := obj.(interface{ validate() []string }); ok {
		errs = append(errs, v.validate()...)
	}
	if dep, ok := obj.(*appsv1.Deployment); ok {
		errs = append(errs, checkPodSpec(&dep.Spec.Template.Spec)...)
	}
	if len(errs) > 0 {
		return d, fmt.Errorf("%s: %s", where, strings.Join(errs, "; "))
	}
	return d, nil
}

func checkMeta(kind, name string, labels, annotations map[string]string) []string {
	var errs []string
	if name == "" {
		errs = append(errs, "metadata.name is empty")
	} else {
		// Services need DNS-1035 labels; everything here fits DNS-1123 subdomains.
		check := validation.IsDNS1123Subdomain
		if kind == "Service" {
			check = validation.IsDNS1035Label
		}
		for _, m := range check(name) {
			errs = append(errs, fmt.Sprintf("metadata.name %q: %s", name, m))
		}
	}
	for k, v := range labels {
		for _, m := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Sprintf("label key %q: %s", k, m))
		}
		for _, m := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Sprintf("label %s=%q: %s", k, v, m))
		}
	}
	for k := range annotations {
		for _, m := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Sprintf("annotation key %q: %s", k, m))
		}
	}
	return errs
}

// checkPodSpec checks names the API server would refuse and references
// inside one pod: mounts to volumes, probes to ports.
func checkPodSpec(spec *corev1.PodSpec) []string {
	var errs []string
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		if volumes[v.Name] {
			errs = append(errs, fmt.Sprintf("volume %q defined twice", v.Name))
		}
		volumes[v.Name] = true
		for _, m := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, fmt.Sprintf("volume name %q: %s", v.Name, m))
		}
	}
	if len(spec.Containers) == 0 {
		errs = append(errs, "pod has no containers")
	}
	names := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		if names[c.Name] {
			errs = append(errs, fmt.Sprintf("container name %q used twice", c.Name))
		}
		names[c.Name] = true
		if c.Image == "" {
			errs = append(errs, fmt.Sprintf("container %s has no image", c.Name))
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			if p.Name == "" {
				continue
			}
			for _, m := range validation.IsValidPortName(p.Name) {
				errs = append(errs, fmt.Sprintf("container %s port name %q: %s", c.Name, p.Name, m))
			}
			ports[p.Name] = true
		}
		for _, e := range c.Env {
			for _, m := range validation.IsEnvVarName(e.Name) {
				errs = append(errs, fmt.Sprintf("container %s env %q: %s", c.Name, e.Name, m))
			}
			if e.Value != "" && e.ValueFrom != nil {
				errs = append(errs, fmt.Sprintf("container %s env %s has both value and valueFrom", c.Name, e.Name))
			}
		}
		mounts := map[string]bool{}
		for _, vm := range c.VolumeMounts {
			if !volumes[vm.Name] {
				errs = append(errs, fmt.Sprintf("container %s mounts volume %q, which the pod does not define", c.Name, vm.Name))
			}
			if mounts[vm.MountPath] {
				errs = append(errs, fmt.Sprintf("container %s mounts two volumes at %s", c.Name, vm.MountPath))
			}
			mounts[vm.MountPath] = true
		}
		for what, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			if p == nil || p.HTTPGet == nil {
				continue
			}
			if port := p.HTTPGet.Port; port.StrVal != "" && !ports[port.StrVal] {
				errs = append(errs, fmt.Sprintf("container %s %s probe uses port %q, which the container does not declare", c.Name, what, port.StrVal))
			}
		}
		for res, limit := range c.Resources.Limits {
			if req, ok := c.Resources.Requests[res]; ok && req.Cmp(limit) > 0 {
				errs = append(errs, fmt.Sprintf("container %s requests more %s (%s) than its limit (%s)", c.Name, res, req.String(), limit.String()))
			}
		}
	}
	return errs
}

// splitDocuments splits a multi-document YAML stream on "---" lines.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimRight(line, " \t") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	return docs
}

func sourceOf(doc []byte) string {
	for _, line := range strings.Split(string(doc), "\n") {
		if s, ok := strings.CutPrefix(line, "# Source: "); ok {
			return strings.TrimSpace(s)
		}
	}
	return "(no source)"
}
