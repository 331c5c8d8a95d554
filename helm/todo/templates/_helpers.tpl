{{/*
Chart name, used in names and the `app` label.
*/}}
{{- define "todo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix of every resource. Kubernetes names are limited to 63 characters (DNS labels);
a release name that already contains the chart name is used as it is.
*/}}
{{- define "todo.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "todo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A string made safe for a label value: [A-Za-z0-9_.-], at most 63 characters, alphanumeric at both ends.
*/}}
{{- define "todo.labelValue" -}}
{{- regexReplaceAll "[^A-Za-z0-9_.-]" (toString .) "_" | trunc 63 | trimAll "_.-" }}
{{- end }}

{{/*
Names of the components' resources.
*/}}
{{- define "todo.backend.fullname" -}}
{{- printf "%s-api" (include "todo.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "todo.frontend.fullname" -}}
{{- printf "%s-web" (include "todo.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "todo.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "todo.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every resource. Call with a dict:
  root      - the top-level context ($)
  component - backend, frontend, database, shared or test
  version   - the component's version (image tag); default: the chart's appVersion
*/}}
{{- define "todo.labels" -}}
{{- $root := .root }}
{{- $version := include "todo.labelValue" (default $root.Chart.AppVersion .version) -}}
helm.sh/chart: {{ include "todo.chart" $root }}
{{ include "todo.selectorLabels" . }}
app.kubernetes.io/version: {{ $version | quote }}
app.kubernetes.io/part-of: {{ include "todo.name" $root }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app: {{ include "todo.name" $root }}
component: {{ .component }}
version: {{ $version | quote }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (never the version), so upgrades can patch the selectors'
owners. Call with a dict with root and component, as for todo.labels.
*/}}
{{- define "todo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Image reference from an image block (repository, tag, digest); a digest wins over the tag.
Call with a dict: image - the block; default - the tag when image.tag is empty.
*/}}
{{- define "todo.image" -}}
{{- $tag := default .default .image.tag | toString }}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "todo.backend.version" -}}
{{- default .Chart.AppVersion .Values.backend.image.tag }}
{{- end }}

{{- define "todo.frontend.version" -}}
{{- default .Chart.AppVersion .Values.frontend.image.tag }}
{{- end }}

{{- define "todo.postgresql.version" -}}
{{- .Values.postgresql.image.tag }}
{{- end }}

{{/*
The ServiceAccount the app pods run as.
*/}}
{{- define "todo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "todo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
URL the frontend proxies /api/* to.
*/}}
{{- define "todo.backendUrl" -}}
{{- default (printf "http://%s:%v" (include "todo.backend.fullname" .) .Values.backend.service.port) .Values.frontend.backendUrl }}
{{- end }}

{{/*
Database Secret: the Secret holding DATABASE_URL (and the PostgreSQL password when the database is bundled),
and whether this chart renders it. A user's existingSecret replaces the rendered one.
*/}}
{{- define "todo.db.existingSecret" -}}
{{- if .Values.postgresql.enabled }}
{{- .Values.database.existingSecret }}
{{- else }}
{{- .Values.externalDatabase.existingSecret }}
{{- end }}
{{- end }}

{{- define "todo.db.secretName" -}}
{{- default (printf "%s-db" (include "todo.fullname" .) | trunc 63 | trimSuffix "-") (include "todo.db.existingSecret" .) }}
{{- end }}

{{- define "todo.db.urlKey" -}}
{{- if not (include "todo.db.existingSecret" .) }}
{{- "database-url" }}
{{- else if .Values.postgresql.enabled }}
{{- .Values.database.existingSecretUrlKey }}
{{- else }}
{{- .Values.externalDatabase.existingSecretUrlKey }}
{{- end }}
{{- end }}

{{- define "todo.db.passwordKey" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecretPasswordKey }}
{{- else }}
{{- "password" }}
{{- end }}
{{- end }}

{{/*
Fails the render when no credentials were given: the password is never a default in values.yaml.
*/}}
{{- define "todo.db.validate" -}}
{{- if .Values.postgresql.enabled }}
{{- if and (not .Values.database.password) (not .Values.database.existingSecret) }}
{{- fail "database.password is empty and database.existingSecret is not set: pass --set database.password=<password> (cargo xtask does, from its secrets config), or create a Secret and set database.existingSecret. Never commit the password in a values file." }}
{{- end }}
{{- else }}
{{- if and (not .Values.externalDatabase.url) (not .Values.externalDatabase.existingSecret) }}
{{- fail "postgresql.enabled is false but neither externalDatabase.url nor externalDatabase.existingSecret is set: pass --set externalDatabase.url=postgres://USER:PASSWORD@HOST:5432/DB, or create a Secret and set externalDatabase.existingSecret." }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The DATABASE_URL of the bundled PostgreSQL; user and password are URL-escaped.
*/}}
{{- define "todo.db.bundledUrl" -}}
{{- printf "postgres://%s:%s@%s:%v/%s" (urlquery .Values.database.user) (urlquery .Values.database.password) (include "todo.postgresql.fullname" .) .Values.postgresql.port .Values.database.name }}
{{- end }}

{{/*
Default soft anti-affinity: prefer spreading a component's pods over nodes. Call with root and component.
*/}}
{{- define "todo.softAntiAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "todo.selectorLabels" . | nindent 12 }}
{{- end }}

{{/*
Prometheus scrape annotations of an app's pods (dict: the component's values): /metrics on its http port, as
Prometheus' example kubernetes-pods job reads them (prometheus/prometheus documentation/examples/prometheus-kubernetes.yml).
*/}}
{{- define "todo.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .containerPort | quote }}
prometheus.io/path: /metrics
{{- end }}
