{{/* Names ------------------------------------------------------------------------------- */}}

{{- define "nova.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nova.fullname" -}}
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

{{/* "<fullname>-<suffix>" for a component or a helper object. Call with (list $ "auth"). */}}
{{- define "nova.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "nova.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels ------------------------------------------------------------------------------ */}}

{{- define "nova.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nova
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of one component. Call with (list $ "auth"). */}}
{{- define "nova.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "nova.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "nova.labels" -}}
{{ include "nova.commonLabels" (index . 0) }}
{{ include "nova.selectorLabels" . }}
{{- end -}}

{{/* Environment ------------------------------------------------------------------------- */}}

{{- define "nova.isDev" -}}
{{- if has .Values.global.environment (list "dev" "test") -}}true{{- end -}}
{{- end -}}

{{/* Image reference "registry/repository:tag@digest". Call with (list $ $image). */}}
{{- define "nova.image" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $repository := $image.repository -}}
{{- if $root.Values.global.imageRegistry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" $root.Values.global.imageRegistry) $image.repository -}}
{{- end -}}
{{- $ref := printf "%s:%s" $repository (default $root.Chart.AppVersion $image.tag) -}}
{{- if $image.digest -}}
{{- $ref = printf "%s@%s" $ref $image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{- define "nova.jwksUrl" -}}
{{- if .Values.global.jwksUrl -}}
{{- .Values.global.jwksUrl -}}
{{- else -}}
{{- printf "http://%s:%d/.well-known/jwks.json" (include "nova.componentName" (list . "auth")) (int .Values.components.auth.port) -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret a component reads its secret env from. Call with (list $ "auth" $c). */}}
{{- define "nova.secretName" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $c := index . 2 -}}
{{- if $c.existingSecret -}}
{{- $c.existingSecret -}}
{{- else if $c.secretOf -}}
{{- include "nova.secretName" (list $root $c.secretOf (index $root.Values.components $c.secretOf)) -}}
{{- else -}}
{{- include "nova.componentName" (list $root $name) -}}
{{- end -}}
{{- end -}}

{{/*
Plain (non-secret) environment of a component as a YAML map. Values may be templates.
Call with (list $ "auth" $c).
*/}}
{{- define "nova.plainEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $c := index . 2 -}}
{{- $env := dict -}}
{{- if $c.envPrefix -}}
{{- $_ := set $env "NOVA_ENVIRONMENT" $root.Values.global.environment -}}
{{- $_ := set $env "NOVA_JWKS_URL" (include "nova.jwksUrl" $root) -}}
{{- if $c.mountSupergraph -}}
{{- $_ := set $env (printf "%sSUPERGRAPH" $c.envPrefix) (printf "%s/%s" $root.Values.supergraph.mountPath $root.Values.supergraph.fileName) -}}
{{- end -}}
{{- end -}}
{{- if and $c.port $c.listenEnv.host -}}
{{- $_ := set $env (printf "%s%s" $c.envPrefix $c.listenEnv.host) "0.0.0.0" -}}
{{- end -}}
{{- if and $c.port $c.listenEnv.port -}}
{{- $_ := set $env (printf "%s%s" $c.envPrefix $c.listenEnv.port) (toString $c.port) -}}
{{- end -}}
{{- if $root.Values.global.otlpEndpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" $root.Values.global.otlpEndpoint -}}
{{- end -}}
{{- range $key, $value := $root.Values.global.env -}}
{{- $_ := set $env $key (tpl (toString $value) $root) -}}
{{- end -}}
{{- range $key, $value := $c.env -}}
{{- $_ := set $env $key (tpl (toString $value) $root) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* Secret env entries (secretKeyRef). Call with (list $ "auth" $c). */}}
{{- define "nova.secretEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $c := index . 2 -}}
{{- $secret := include "nova.secretName" . -}}
{{- range $envName, $key := $c.secretEnv }}
- name: {{ $envName }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end -}}
{{- end -}}

{{/* Guards ------------------------------------------------------------------------------ */}}

{{- define "nova.validate" -}}
{{- $dev := include "nova.isDev" . -}}
{{- if and (not $dev) .Values.postgresql.enabled -}}
{{- fail "postgresql.enabled: the in-cluster PostgreSQL is for kind/dev only; set global.environment=dev or use an external database" -}}
{{- end -}}
{{- if and (not $dev) .Values.redis.enabled -}}
{{- fail "redis.enabled: the in-cluster Redis is for kind/dev only; set global.environment=dev or use an external Redis" -}}
{{- end -}}
{{- if and .Values.postgresql.enabled (not .Values.postgresql.auth.existingSecret) -}}
{{- fail "postgresql.auth.existingSecret is required: deploy/kind/dev-secrets.sh creates it" -}}
{{- end -}}
{{- range $name, $c := .Values.components -}}
{{- if and $c.secretValues (not $dev) -}}
{{- fail (printf "components.%s.secretValues: inline secret values are for dev/test only; put them in a Secret and set components.%s.existingSecret" $name $name) -}}
{{- end -}}
{{- if and $c.enabled $c.secretValues (not $c.existingSecret) (not $c.secretOf) -}}
{{- range $envName, $key := $c.secretEnv -}}
{{- if not (hasKey $c.secretValues $key) -}}
{{- fail (printf "components.%s.secretValues has no key %q, which secretEnv %s reads" $name $key $envName) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $c.secretOf (not (hasKey $.Values.components $c.secretOf)) -}}
{{- fail (printf "components.%s.secretOf: no component named %q" $name $c.secretOf) -}}
{{- end -}}
{{- if and $c.enabled $c.service.enabled (not $c.port) -}}
{{- fail (printf "components.%s.service.enabled needs components.%s.port" $name $name) -}}
{{- end -}}
{{- if and $c.singleton (or (gt (int $c.replicas) 1) $c.hpa.enabled $c.pdb.enabled) -}}
{{- fail (printf "components.%s is a singleton: replicas must be 1 with no HPA and no PDB" $name) -}}
{{- end -}}
{{- end -}}
{{- if or .Values.ingress.enabled .Values.httpRoute.enabled -}}
{{- range $route := .Values.routes -}}
{{- $target := index $.Values.components $route.component | default dict -}}
{{- if not (and $target.enabled $target.service.enabled) -}}
{{- fail (printf "routes: %s points at %q, which is not an enabled component with a Service" $route.path $route.component) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
