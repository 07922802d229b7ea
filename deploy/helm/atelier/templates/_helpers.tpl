{{/*
Names, labels and the pieces the API, the workers and the migration Job share.
*/}}

{{- define "atelier.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* release-atelier, or the release name alone when it already says atelier. */}}
{{- define "atelier.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "atelier.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "atelier.selectorLabels" -}}
app.kubernetes.io/name: {{ include "atelier.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "atelier.labels" -}}
helm.sh/chart: {{ include "atelier.chart" . }}
{{ include "atelier.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "atelier.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "atelier.configName" -}}
{{- printf "%s-config" (include "atelier.fullname" .) }}
{{- end }}

{{- define "atelier.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-secrets" (include "atelier.fullname" .)) }}
{{- end }}

{{/* The ConfigMap's data: every non-empty value of .Values.config, as a string. */}}
{{- define "atelier.configData" -}}
{{- range $key, $value := .Values.config }}
{{- if ne (toString $value) "" }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Secret's stringData: every non-empty value of .Values.secrets. */}}
{{- define "atelier.secretData" -}}
{{- range $key, $value := .Values.secrets }}
{{- if ne (toString $value) "" }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fails the render when no database is configured anywhere. */}}
{{- define "atelier.checkSecrets" -}}
{{- if and (not .Values.existingSecret) (not .Values.secrets.ATELIER_DATABASE_URL) }}
{{- fail "set secrets.ATELIER_DATABASE_URL (postgres://...) or existingSecret" }}
{{- end }}
{{- end }}

{{- define "atelier.envFrom" -}}
- configMapRef:
    name: {{ include "atelier.configName" . }}
- secretRef:
    name: {{ include "atelier.secretName" . }}
{{- end }}

{{/* Pod annotations that roll the pods when their settings change. */}}
{{- define "atelier.checksums" -}}
checksum/config: {{ include "atelier.configData" . | sha256sum }}
checksum/secret: {{ printf "%s%s" .Values.existingSecret (include "atelier.secretData" .) | sha256sum }}
{{- end }}

{{- define "atelier.volumeMounts" -}}
- name: data
  mountPath: /var/lib/atelier
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "atelier.volumes" -}}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.dataSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}
