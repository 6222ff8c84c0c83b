{{/* Names and labels. */}}

{{- define "genius.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart, or the release alone when it already holds the chart name. */}}
{{- define "genius.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one worker's resources; call with (dict "root" $ "kind" "cpu"). Leaves room for "-metrics". */}}
{{- define "genius.workerName" -}}
{{- printf "%s-%s-worker" (include "genius.fullname" .root | trunc 44 | trimSuffix "-") .kind -}}
{{- end -}}

{{- define "genius.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "genius.selectorLabels" -}}
app.kubernetes.io/name: {{ include "genius.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "genius.labels" -}}
helm.sh/chart: {{ include "genius.chart" . }}
{{ include "genius.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: genius
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one worker; call with (dict "root" $ "kind" "cpu"). */}}
{{- define "genius.workerSelectorLabels" -}}
{{ include "genius.selectorLabels" .root }}
app.kubernetes.io/component: {{ .kind }}-worker
{{- end -}}

{{- define "genius.workerLabels" -}}
{{ include "genius.labels" .root }}
app.kubernetes.io/component: {{ .kind }}-worker
{{- end -}}

{{- define "genius.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "genius.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "genius.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "genius.dataClaimName" -}}
{{- if eq .Values.dataDir.type "existingClaim" -}}
{{- .Values.dataDir.existingClaim -}}
{{- else -}}
{{- printf "%s-data" (include "genius.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "genius.checkpointStore" -}}
{{- if eq .Values.checkpoints.store "s3" -}}
{{- $prefix := trimAll "/" .Values.checkpoints.s3.prefix -}}
{{- if $prefix -}}
{{- printf "s3://%s/%s" .Values.checkpoints.s3.bucket $prefix -}}
{{- else -}}
{{- printf "s3://%s" .Values.checkpoints.s3.bucket -}}
{{- end -}}
{{- else -}}
{{- printf "file://%s/checkpoints" (trimSuffix "/" .Values.dataDir.mountPath) -}}
{{- end -}}
{{- end -}}

{{/*
"true" when a worker needs a local checkpoint directory: a GPU worker with an
s3 store (write-back copies and proxy-training checkpoints); "" otherwise.
Call like genius.env.
*/}}
{{- define "genius.checkpointScratch" -}}
{{- if and (eq .kind "gpu") (eq .root.Values.checkpoints.store "s3") -}}
true
{{- end -}}
{{- end -}}

{{/*
GENIUS_WORKER_STOP_TIMEOUT of a worker (call with its values, .c): the grace
period less 60s for uploads and exit, at least 10s, and always under the
grace period so the worker stops before the kubelet kills it.
*/}}
{{- define "genius.stopTimeout" -}}
{{- $grace := int .terminationGracePeriodSeconds -}}
{{- $t := max (sub $grace 60) 10 -}}
{{- if ge (int $t) $grace -}}
{{- $t = max (div $grace 2) 1 -}}
{{- end -}}
{{- printf "%ds" (int $t) -}}
{{- end -}}

{{/* Activities a GPU pod runs at once: the explicit value, else one per GPU. */}}
{{- define "genius.gpuConcurrency" -}}
{{- if gt (int .Values.gpu.maxConcurrentActivities) 0 -}}
{{- .Values.gpu.maxConcurrentActivities -}}
{{- else -}}
{{- .Values.gpu.gpusPerPod -}}
{{- end -}}
{{- end -}}

{{/*
Checks across fields that the schema cannot say clearly. Each message names
the value and the fix.
*/}}
{{- define "genius.validate" -}}
{{- $secretName := "(?i)(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)" -}}
{{- range $kind := list "cpu" "gpu" -}}
{{- $c := index $.Values $kind -}}
{{- range $i, $e := $c.additionalEnv -}}
{{- if and (regexMatch $secretName $e.name) (hasKey $e "value") -}}
{{- fail (printf "%s.additionalEnv[%d] (%s) looks like a secret but has a literal value: put it in a Secret and use valueFrom.secretKeyRef {name, key} instead" $kind $i $e.name) -}}
{{- end -}}
{{- end -}}
{{- if and $c.autoscaling.enabled (eq $c.autoscaling.kind "hpa") (lt (int $c.autoscaling.minReplicas) 1) -}}
{{- fail (printf "%s.autoscaling.minReplicas is %v but a HorizontalPodAutoscaler needs at least 1: set it to 1, or use kind keda to scale to zero" $kind $c.autoscaling.minReplicas) -}}
{{- end -}}
{{- if lt (int $c.autoscaling.maxReplicas) (int $c.autoscaling.minReplicas) -}}
{{- if $c.autoscaling.enabled -}}
{{- fail (printf "%s.autoscaling.maxReplicas (%v) is below minReplicas (%v): raise maxReplicas" $kind $c.autoscaling.maxReplicas $c.autoscaling.minReplicas) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $tls := .Values.temporal.tls -}}
{{- if $tls.enabled -}}
{{- if not (or $tls.certKey $tls.keyKey $tls.caKey) -}}
{{- fail "temporal.tls.enabled is true but certKey, keyKey and caKey are all empty: name the files of temporal.tls.existingSecret (caKey for the server's CA, certKey and keyKey for a client certificate), or for TLS with the system roots leave tls.enabled false and set tls.serverName" -}}
{{- end -}}
{{- if ne (empty $tls.certKey) (empty $tls.keyKey) -}}
{{- fail "temporal.tls.certKey and temporal.tls.keyKey go together: set both (a client certificate) or clear both (server-only TLS)" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.gpu.enabled (eq .Values.checkpoints.store "s3") -}}
{{- $scratch := trimSuffix "/" .Values.checkpoints.localDir.mountPath -}}
{{- $data := trimSuffix "/" .Values.dataDir.mountPath -}}
{{- if or (eq $scratch $data) (hasPrefix (printf "%s/" $data) $scratch) (hasPrefix (printf "%s/" $scratch) $data) -}}
{{- fail (printf "checkpoints.localDir.mountPath (%s) and dataDir.mountPath (%s) overlap: give the local checkpoint directory a path of its own, e.g. /scratch/checkpoints" .Values.checkpoints.localDir.mountPath .Values.dataDir.mountPath) -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.cpu.enabled) (not .Values.gpu.enabled) -}}
{{- fail "cpu.enabled and gpu.enabled are both false: the release would run no worker; enable at least one" -}}
{{- end -}}
{{- end -}}

{{/*
Image of a worker's container; call like genius.env. A GPU worker on the
cuda backend runs the CUDA image (Dockerfile.cuda): gpu.image, defaulting
to image.repository at the plain image's tag plus "-cuda".
*/}}
{{- define "genius.workerImage" -}}
{{- $v := .root.Values -}}
{{- if and (eq .kind "gpu") (eq $v.gpu.backend "cuda") -}}
{{- $repo := default $v.image.repository $v.gpu.image.repository -}}
{{- if $v.gpu.image.digest -}}
{{- printf "%s@%s" $repo $v.gpu.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default (printf "%s-cuda" (default .root.Chart.AppVersion $v.image.tag)) $v.gpu.image.tag) -}}
{{- end -}}
{{- else -}}
{{- include "genius.image" .root -}}
{{- end -}}
{{- end -}}

{{/*
GENIUS_LOADER_WORKERS of GPU workers: gpu.loaderWorkers, or else the whole
CPUs of gpu.resources.requests.cpu (at least 1); 0 without a request (the
worker then uses GOMAXPROCS).
*/}}
{{- define "genius.loaderWorkers" -}}
{{- $n := int .Values.gpu.loaderWorkers -}}
{{- if le $n 0 -}}
{{- $cpu := toString (dig "requests" "cpu" "" (default dict .Values.gpu.resources)) -}}
{{- if hasSuffix "m" $cpu -}}
{{- $n = div (int (trimSuffix "m" $cpu)) 1000 -}}
{{- else if $cpu -}}
{{- $n = int (floor (float64 $cpu)) -}}
{{- end -}}
{{- if and $cpu (lt (int $n) 1) -}}
{{- $n = 1 -}}
{{- end -}}
{{- end -}}
{{- $n -}}
{{- end -}}
