package charttest

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// SecretName matches environment variable names that hold secret material.
var SecretName = regexp.MustCompile(`(?i)(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)`)

// CheckSecrets reports every way a secret could reach a pod other than by
// reference to an existing Secret: a Secret object rendered by the chart, an
// environment variable whose name says secret (SecretName) with a literal
// value or a non-Secret source, and ConfigMap keys that look like secrets.
// A literal value is allowed only when it is a file path inside a volume
// backed by a Secret (TEMPORAL_TLS_KEY=/etc/.../tls.key).
func CheckSecrets(docs []Document) error {
	var errs []error
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *corev1.Secret:
			errs = append(errs, fmt.Errorf("%s: the chart renders a Secret; secrets must come from existing Secrets named in values", d.ID()))
		case *corev1.ConfigMap:
			for k := range o.Data {
				if SecretName.MatchString(k) {
					errs = append(errs, fmt.Errorf("%s: data key %q looks like a secret; ConfigMaps are not for secrets", d.ID(), k))
				}
			}
		case *appsv1.Deployment:
			errs = append(errs, checkPodSecrets(d.ID(), &o.Spec.Template.Spec)...)
		}
	}
	return errors.Join(errs...)
}

func checkPodSecrets(id string, spec *corev1.PodSpec) []error {
	secretVolumes := map[string]string{} // volume name -> Secret name
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = v.Secret.SecretName
		}
	}
	var errs []error
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		var secretDirs []string
		for _, m := range c.VolumeMounts {
			if _, ok := secretVolumes[m.Name]; ok {
				secretDirs = append(secretDirs, path.Clean(m.MountPath))
			}
		}
		for _, e := range c.Env {
			at := fmt.Sprintf("%s container %s env %s", id, c.Name, e.Name)
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				if r := e.ValueFrom.SecretKeyRef; r.Name == "" || r.Key == "" {
					errs = append(errs, fmt.Errorf("%s: secretKeyRef needs both name and key", at))
				}
				continue
			}
			if !SecretName.MatchString(e.Name) {
				continue
			}
			if e.ValueFrom != nil {
				errs = append(errs, fmt.Errorf("%s: a secret must come from valueFrom.secretKeyRef", at))
				continue
			}
			if !inAny(e.Value, secretDirs) {
				errs = append(errs, fmt.Errorf("%s: literal value; a secret must come from valueFrom.secretKeyRef (or be a file path in a Secret volume)", at))
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				errs = append(errs, fmt.Errorf("%s container %s: envFrom configMapRef %s could carry secrets; use secretKeyRef", id, c.Name, ef.ConfigMapRef.Name))
			}
		}
	}
	return errs
}

// inAny reports whether p is a file strictly inside one of dirs.
func inAny(p string, dirs []string) bool {
	if !path.IsAbs(p) {
		return false
	}
	p = path.Clean(p)
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// CheckReferences checks what ties rendered objects together: a
// Deployment's selector matches its pods; every Service, PodDisruptionBudget
// and ServiceMonitor selects something, by ports that exist; every
// autoscaler targets a rendered Deployment, no Deployment has two, and an
// autoscaled Deployment leaves replicas unset (else each helm upgrade
// resets the autoscaler's count); ScaledObjects name rendered
// TriggerAuthentications; pods use a rendered ServiceAccount when the chart
// renders any.
func CheckReferences(docs []Document) error {
	var errs []error
	deps := map[string]*appsv1.Deployment{}
	services := map[string]*corev1.Service{}
	auths := map[string]bool{}
	accounts := map[string]bool{}
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *appsv1.Deployment:
			deps[d.Name] = o
		case *corev1.Service:
			services[d.Name] = o
		case *TriggerAuthentication:
			auths[d.Name] = true
		case *corev1.ServiceAccount:
			accounts[d.Name] = true
		}
	}
	podsMatching := func(sel labels.Selector) []*appsv1.Deployment {
		var out []*appsv1.Deployment
		for _, dep := range deps {
			if sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
				out = append(out, dep)
			}
		}
		return out
	}
	scaled := map[string]string{} // Deployment -> autoscaler
	target := func(id, kind, name string) {
		if kind != "" && kind != "Deployment" {
			errs = append(errs, fmt.Errorf("%s: scales a %s; the chart only renders Deployments", id, kind))
			return
		}
		dep, ok := deps[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: scales Deployment %q, which is not rendered", id, name))
			return
		}
		if prev, ok := scaled[name]; ok {
			errs = append(errs, fmt.Errorf("%s and %s both scale Deployment %s", prev, id, name))
		}
		scaled[name] = id
		if dep.Spec.Replicas != nil {
			errs = append(errs, fmt.Errorf("deployment %s: sets replicas while %s scales it; leave replicas unset", name, id))
		}
	}
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *appsv1.Deployment:
			sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
			if err != nil || sel.Empty() {
				errs = append(errs, fmt.Errorf("%s: bad or empty selector: %v", d.ID(), err))
			} else if !sel.Matches(labels.Set(o.Spec.Template.Labels)) {
				errs = append(errs, fmt.Errorf("%s: selector %s does not match its pod labels %v", d.ID(), sel, o.Spec.Template.Labels))
			}
			if sa := o.Spec.Template.Spec.ServiceAccountName; len(accounts) > 0 && !accounts[sa] {
				errs = append(errs, fmt.Errorf("%s: serviceAccountName %q is not the rendered ServiceAccount", d.ID(), sa))
			}
		case *corev1.Service:
			if len(o.Spec.Selector) == 0 {
				errs = append(errs, fmt.Errorf("%s: no selector", d.ID()))
				continue
			}
			matched := podsMatching(labels.SelectorFromSet(o.Spec.Selector))
			if len(matched) == 0 {
				errs = append(errs, fmt.Errorf("%s: selector %v matches no rendered pods", d.ID(), o.Spec.Selector))
			}
			for _, p := range o.Spec.Ports {
				if name := p.TargetPort.StrVal; name != "" {
					for _, dep := range matched {
						if !podHasPort(&dep.Spec.Template.Spec, name) {
							errs = append(errs, fmt.Errorf("%s: targetPort %q is not a port of Deployment %s", d.ID(), name, dep.Name))
						}
					}
				}
			}
		case *policyv1.PodDisruptionBudget:
			sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
			if err != nil || sel.Empty() || len(podsMatching(sel)) == 0 {
				errs = append(errs, fmt.Errorf("%s: selector matches no rendered pods", d.ID()))
			}
			if o.Spec.MinAvailable != nil && o.Spec.MaxUnavailable != nil {
				errs = append(errs, fmt.Errorf("%s: sets both minAvailable and maxUnavailable", d.ID()))
			}
		case *ServiceMonitor:
			sel, err := metav1.LabelSelectorAsSelector(&o.Spec.Selector)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.ID(), err))
				continue
			}
			var matched []*corev1.Service
			for _, s := range services {
				if sel.Matches(labels.Set(s.Labels)) {
					matched = append(matched, s)
				}
			}
			if len(matched) == 0 {
				errs = append(errs, fmt.Errorf("%s: selector matches no rendered Service", d.ID()))
			}
			for _, e := range o.Spec.Endpoints {
				for _, s := range matched {
					if !serviceHasPort(s, e.Port) {
						errs = append(errs, fmt.Errorf("%s: endpoint port %q is not a port of Service %s", d.ID(), e.Port, s.Name))
					}
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			target(d.ID(), o.Spec.ScaleTargetRef.Kind, o.Spec.ScaleTargetRef.Name)
		case *ScaledObject:
			if o.Spec.ScaleTargetRef != nil {
				target(d.ID(), o.Spec.ScaleTargetRef.Kind, o.Spec.ScaleTargetRef.Name)
			}
			for i, t := range o.Spec.Triggers {
				if r := t.AuthenticationRef; r != nil && (r.Kind == "" || r.Kind == "TriggerAuthentication") && !auths[r.Name] {
					errs = append(errs, fmt.Errorf("%s: triggers[%d] authenticationRef %q is not a rendered TriggerAuthentication", d.ID(), i, r.Name))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func podHasPort(spec *corev1.PodSpec, name string) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func serviceHasPort(s *corev1.Service, name string) bool {
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}
