{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "crawlrag.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; room is left for the "-worker-metrics" style suffixes. */}}
{{- define "crawlrag.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "crawlrag.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "crawlrag.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crawlrag.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "crawlrag.labels" -}}
helm.sh/chart: {{ include "crawlrag.chart" . }}
{{ include "crawlrag.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: crawlrag
{{- end }}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "api"). */}}
{{- define "crawlrag.componentSelectorLabels" -}}
{{ include "crawlrag.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "crawlrag.componentLabels" -}}
{{ include "crawlrag.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "crawlrag.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "crawlrag.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding DATABASE_URL, REDIS_URL, ...: the user's own or the chart's. */}}
{{- define "crawlrag.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "crawlrag.fullname" . }}
{{- end }}
{{- end }}

{{- define "crawlrag.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Hook annotations for what the pre-install/pre-upgrade migration Job needs before the release's
ordinary resources exist: its ConfigMap, Secret and ServiceAccount are created first (weight -10)
and replaced on every upgrade.
*/}}
{{- define "crawlrag.prerequisiteHook" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
{{- end }}

{{/* Env shared by every crawlrag container: the ConfigMap and the Secret. */}}
{{- define "crawlrag.envFrom" -}}
- configMapRef:
    name: {{ include "crawlrag.fullname" . }}
- secretRef:
    name: {{ include "crawlrag.secretName" . }}
{{- end }}

{{/* Restart pods when configuration changes. */}}
{{- define "crawlrag.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* The model volume (a PVC holding all-minilm-l6-v2/ and libonnxruntime.so), when configured. */}}
{{- define "crawlrag.modelVolume" -}}
{{- if .Values.model.existingClaim }}
- name: models
  persistentVolumeClaim:
    claimName: {{ .Values.model.existingClaim }}
    readOnly: true
{{- end }}
{{- end }}

{{- define "crawlrag.modelMount" -}}
{{- if .Values.model.existingClaim }}
- name: models
  mountPath: /models
  readOnly: true
{{- end }}
{{- end }}

{{/* Egress rules every component needs: DNS and the dependencies (Postgres, Redis, FalkorDB). */}}
{{- define "crawlrag.baseEgress" -}}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podLabels | nindent 10 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
- ports:
    {{- range .Values.networkPolicy.dependencies.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with .Values.networkPolicy.dependencies.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
Host names the API accepts (rmcp answers 403 to others, the DNS-rebinding guard): the Service's
DNS names, the Ingress hosts and api.allowedHosts.
*/}}
{{- define "crawlrag.allowedHosts" -}}
{{- $svc := printf "%s-api" (include "crawlrag.fullname" .) }}
{{- $hosts := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- end }}
{{- $hosts = concat $hosts .Values.api.allowedHosts }}
{{- join "," (uniq $hosts) }}
{{- end }}
