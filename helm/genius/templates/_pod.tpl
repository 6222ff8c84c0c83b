{{/*
The worker environment, per the worker's flags/env contract. Secrets come only
from secretKeyRef or files of a Secret volume. Call with
(dict "root" $ "kind" "cpu" "c" .Values.cpu).
*/}}
{{- define "genius.env" -}}
{{- $v := .root.Values -}}
- name: GENIUS_WORKER_KIND
  value: {{ .kind | quote }}
- name: GENIUS_TASK_QUEUE
  value: {{ .c.taskQueue | quote }}
- name: GENIUS_MAX_CONCURRENT_ACTIVITIES
  {{- if eq .kind "gpu" }}
  value: {{ include "genius.gpuConcurrency" .root | quote }}
  {{- else }}
  value: {{ .c.maxConcurrentActivities | quote }}
  {{- end }}
- name: GENIUS_WORKER_STOP_TIMEOUT
  value: {{ include "genius.stopTimeout" .c | quote }}
{{- if eq .kind "gpu" }}
- name: GENIUS_BACKEND
  value: {{ .c.backend | quote }}
- name: GENIUS_DTYPE
  value: {{ .c.dtype | quote }}
- name: GENIUS_MICRO_BATCH
  value: {{ .c.microBatch | quote }}
- name: GENIUS_LOADER_WORKERS
  value: {{ include "genius.loaderWorkers" .root | quote }}
{{- end }}
- name: GENIUS_DATA_DIR
  value: {{ $v.dataDir.mountPath | quote }}
- name: GENIUS_HEALTH_ADDR
  value: {{ printf ":%v" $v.health.port | quote }}
- name: GENIUS_METRICS_ADDR
  value: {{ ternary (printf ":%v" $v.metrics.port) "" $v.metrics.enabled | quote }}
- name: TEMPORAL_ADDRESS
  value: {{ $v.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $v.temporal.namespace | quote }}
{{- with $v.temporal.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $v.temporal.apiKey.secretKey | quote }}
{{- end }}
{{- if $v.temporal.tls.enabled }}
{{- $dir := trimSuffix "/" $v.temporal.tls.mountPath }}
{{- with $v.temporal.tls.certKey }}
- name: TEMPORAL_TLS_CERT
  value: {{ printf "%s/%s" $dir . | quote }}
{{- end }}
{{- with $v.temporal.tls.keyKey }}
- name: TEMPORAL_TLS_KEY
  value: {{ printf "%s/%s" $dir . | quote }}
{{- end }}
{{- with $v.temporal.tls.caKey }}
- name: TEMPORAL_TLS_CA
  value: {{ printf "%s/%s" $dir . | quote }}
{{- end }}
{{- end }}
{{- with $v.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if eq .kind "cpu" }}
{{- with $v.llm.baseURL }}
- name: OPENAI_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.llm.existingSecret }}
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $v.llm.secretKey | quote }}
{{- end }}
{{- end }}
- name: GENIUS_CHECKPOINT_STORE
  value: {{ include "genius.checkpointStore" .root | quote }}
{{- if include "genius.checkpointScratch" . }}
- name: GENIUS_CHECKPOINT_DIR
  value: {{ $v.checkpoints.localDir.mountPath | quote }}
{{- end }}
{{- if eq $v.checkpoints.store "s3" }}
{{- $s3 := $v.checkpoints.s3 }}
{{- with $s3.endpoint }}
- name: GENIUS_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: GENIUS_S3_REGION
  value: {{ $s3.region | quote }}
- name: GENIUS_S3_PATH_STYLE
  value: {{ $s3.pathStyle | quote }}
{{- with $s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $s3.accessKeyIdKey | quote }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $s3.secretAccessKeyKey | quote }}
{{- end }}
{{- end }}
{{- with $v.encryption.existingSecret }}
- name: GENIUS_ENCRYPTION_KEY_FILE
  value: {{ include "genius.encryptionKeyFile" $.root | quote }}
{{- end }}
{{- with .c.additionalEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes of a worker pod; call like genius.env. */}}
{{- define "genius.volumes" -}}
{{- $v := .root.Values -}}
- name: data
  {{- if eq $v.dataDir.type "emptyDir" }}
  emptyDir:
    {{- with $v.dataDir.emptyDir.sizeLimit }}
    sizeLimit: {{ . | quote }}
    {{- else }} {}
    {{- end }}
  {{- else }}
  persistentVolumeClaim:
    claimName: {{ include "genius.dataClaimName" .root }}
  {{- end }}
- name: tmp
  emptyDir: {}
{{- if $v.temporal.tls.enabled }}
- name: temporal-tls
  secret:
    secretName: {{ $v.temporal.tls.existingSecret | quote }}
    defaultMode: 0440
    items:
      {{- range $key := list $v.temporal.tls.certKey $v.temporal.tls.keyKey $v.temporal.tls.caKey }}
      {{- if $key }}
      - key: {{ $key | quote }}
        path: {{ $key | quote }}
      {{- end }}
      {{- end }}
{{- end }}
{{- if and (eq .kind "gpu") .c.shmSize }}
- name: dshm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .c.shmSize | quote }}
{{- end }}
{{- if include "genius.checkpointScratch" . }}
- name: checkpoints
  emptyDir:
    {{- with $v.checkpoints.localDir.sizeLimit }}
    sizeLimit: {{ . | quote }}
    {{- else }} {}
    {{- end }}
{{- end }}
{{- with $v.encryption.existingSecret }}
- name: encryption-keys
  secret:
    secretName: {{ . | quote }}
    defaultMode: 0440
    items:
      - key: {{ $v.encryption.secretKey | quote }}
        path: keys
{{- end }}
{{- with .c.additionalVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "genius.volumeMounts" -}}
{{- $v := .root.Values -}}
- name: data
  mountPath: {{ $v.dataDir.mountPath | quote }}
- name: tmp
  mountPath: /tmp
{{- if $v.temporal.tls.enabled }}
- name: temporal-tls
  mountPath: {{ $v.temporal.tls.mountPath | quote }}
  readOnly: true
{{- end }}
{{- if and (eq .kind "gpu") .c.shmSize }}
- name: dshm
  mountPath: /dev/shm
{{- end }}
{{- if include "genius.checkpointScratch" . }}
- name: checkpoints
  mountPath: {{ $v.checkpoints.localDir.mountPath | quote }}
{{- end }}
{{- if $v.encryption.existingSecret }}
- name: encryption-keys
  mountPath: {{ $v.encryption.mountPath | quote }}
  readOnly: true
{{- end }}
{{- with .c.additionalVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Path of the mounted key file (GENIUS_ENCRYPTION_KEY_FILE). */}}
{{- define "genius.encryptionKeyFile" -}}
{{- printf "%s/keys" (trimSuffix "/" .Values.encryption.mountPath) -}}
{{- end -}}
