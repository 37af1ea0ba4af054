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

{{/*
"<fullname>-<suffix>" for a component or a helper object. Call with (list $ "auth").
Names longer than 63 characters keep their first 54 and end in a hash of the whole name, so
long release names never give two objects one name (a plain trunc 63 would).
*/}}
{{- define "nova.componentName" -}}
{{- $root := index . 0 -}}
{{- $name := printf "%s-%s" (include "nova.fullname" $root) (index . 1) -}}
{{- if gt (len $name) 63 -}}
{{- printf "%s-%s" ($name | trunc 54 | trimSuffix "-") ($name | sha256sum | trunc 8) -}}
{{- else -}}
{{- $name -}}
{{- end -}}
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
{{- if and $c.envPrefix (hasKey $c "workers") -}}
{{- $_ := set $env (printf "%sWORKERS" $c.envPrefix) (include "nova.workers" $c) -}}
{{- end -}}
{{- if and $c.envPrefix $c.metrics.port -}}
{{- $_ := set $env (printf "%sMETRICS_PORT" $c.envPrefix) (toString $c.metrics.port) -}}
{{- end -}}
{{- if and $c.envPrefix $c.trustedProxies -}}
{{- $_ := set $env (printf "%sFORWARDED_ALLOW_IPS" $c.envPrefix) (join "," $c.trustedProxies) -}}
{{- end -}}
{{- if $root.Values.global.otlpEndpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" $root.Values.global.otlpEndpoint -}}
{{- end -}}
{{- $smtp := $root.Values.mail.smtp -}}
{{- if and $c.mail $smtp.host -}}
{{- $_ := set $env (printf "%sSMTP_HOST" $c.envPrefix) $smtp.host -}}
{{- $_ := set $env (printf "%sSMTP_PORT" $c.envPrefix) (toString $smtp.port) -}}
{{- $_ := set $env (printf "%sSMTP_STARTTLS" $c.envPrefix) (toString (eq $smtp.security "starttls")) -}}
{{- $_ := set $env (printf "%sSMTP_TLS" $c.envPrefix) (toString (eq $smtp.security "tls")) -}}
{{- with $smtp.username -}}
{{- $_ := set $env (printf "%sSMTP_USERNAME" $c.envPrefix) . -}}
{{- end -}}
{{- end -}}
{{- if and $c.mail $root.Values.mail.from -}}
{{- $_ := set $env (printf "%sMAIL_FROM" $c.envPrefix) $root.Values.mail.from -}}
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
{{- end }}
{{- $smtp := $root.Values.mail.smtp }}
{{- if and $c.mail $smtp.host $smtp.passwordSecret.name }}
- name: {{ printf "%sSMTP_PASSWORD" $c.envPrefix }}
  valueFrom:
    secretKeyRef:
      name: {{ $smtp.passwordSecret.name }}
      key: {{ $smtp.passwordSecret.key }}
{{- end }}
{{- with $c.extraEnv }}
{{- tpl (toYaml .) $root | nindent 0 }}
{{- end -}}
{{- end -}}

{{/*
Containers a user adds (initContainers, sidecars) as a YAML list: values are templates, and each
container gets the chart's container securityContext under its own. Call with (list $ $list).
*/}}
{{- define "nova.extraContainers" -}}
{{- $root := index . 0 -}}
{{- $containers := list -}}
{{- range (tpl (toYaml (index . 1)) $root | fromYamlArray) -}}
{{- $container := deepCopy . -}}
{{- $context := mergeOverwrite (deepCopy $root.Values.containerSecurityContext) (get $container "securityContext" | default dict) -}}
{{- $_ := set $container "securityContext" $context -}}
{{- $containers = append $containers $container -}}
{{- end -}}
{{- toYaml $containers -}}
{{- end -}}

{{/* Every Secret the release reads, as a map: Secret name -> {keys: [...], readers: [...]}. */}}
{{- define "nova.referencedSecrets" -}}
{{- $secrets := dict -}}
{{- range $name, $c := .Values.components -}}
{{- if $c.enabled -}}
{{- if $c.secretEnv -}}
{{- $secretName := include "nova.secretName" (list $ $name $c) -}}
{{- $entry := get $secrets $secretName | default (dict "keys" list "readers" list) -}}
{{- range $envName, $key := $c.secretEnv -}}
{{- $_ := set $entry "keys" (append $entry.keys $key | uniq | sortAlpha) -}}
{{- end -}}
{{- $_ := set $entry "readers" (append $entry.readers (printf "components.%s" $name) | uniq) -}}
{{- $_ := set $secrets $secretName $entry -}}
{{- end -}}
{{- range $env := $c.extraEnv -}}
{{- with (($env.valueFrom | default dict).secretKeyRef) -}}
{{- if not .optional -}}
{{- $secretName := tpl .name $ -}}
{{- $entry := get $secrets $secretName | default (dict "keys" list "readers" list) -}}
{{- $_ := set $entry "keys" (append $entry.keys .key | uniq | sortAlpha) -}}
{{- $_ := set $entry "readers" (append $entry.readers (printf "components.%s.extraEnv" $name) | uniq) -}}
{{- $_ := set $secrets $secretName $entry -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $smtp := .Values.mail.smtp -}}
{{- if and $smtp.host $smtp.passwordSecret.name -}}
{{- $entry := get $secrets $smtp.passwordSecret.name | default (dict "keys" list "readers" list) -}}
{{- $_ := set $entry "keys" (append $entry.keys $smtp.passwordSecret.key | uniq | sortAlpha) -}}
{{- $_ := set $entry "readers" (append $entry.readers "mail.smtp.passwordSecret" | uniq) -}}
{{- $_ := set $secrets $smtp.passwordSecret.name $entry -}}
{{- end -}}
{{- if .Values.postgresql.enabled -}}
{{- $keys := list "postgres-password" -}}
{{- range $name, $c := .Values.components -}}
{{- if and $c.enabled $c.database -}}
{{- $keys = append $keys (printf "%s-password" $name) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $secrets .Values.postgresql.auth.existingSecret (dict "keys" (sortAlpha $keys) "readers" (list "postgresql.auth.existingSecret")) -}}
{{- end -}}
{{- toYaml $secrets -}}
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
{{- if gt (int $c.hpa.minReplicas) (int $c.hpa.maxReplicas) -}}
{{- fail (printf "components.%s.hpa.minReplicas (%d) is above components.%s.hpa.maxReplicas (%d)" $name (int $c.hpa.minReplicas) $name (int $c.hpa.maxReplicas)) -}}
{{- end -}}
{{- if ge (int $c.preStopSleepSeconds) (int $c.terminationGracePeriodSeconds) -}}
{{- fail (printf "components.%s.preStopSleepSeconds (%d) must be below components.%s.terminationGracePeriodSeconds (%d), or the pod is killed before it drains" $name (int $c.preStopSleepSeconds) $name (int $c.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- range $direction := list "from" "to" -}}
{{- range $peer := index $c.networkPolicy $direction -}}
{{- if not (hasKey $.Values.components $peer) -}}
{{- fail (printf "components.%s.networkPolicy.%s: no component named %q (components are: %s)" $name $direction $peer (keys $.Values.components | sortAlpha | join ", ")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $key := list "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/component" -}}
{{- if hasKey ($c.podLabels | default dict) $key -}}
{{- fail (printf "components.%s.podLabels: %s is set by the chart (its selectors use it)" $name $key) -}}
{{- end -}}
{{- end -}}
{{- $volumes := list "supergraph" -}}
{{- range $i, $_ := $c.writablePaths -}}
{{- $volumes = append $volumes (printf "writable-%d" $i) -}}
{{- end -}}
{{- range $c.extraVolumes -}}
{{- if has .name $volumes -}}
{{- fail (printf "components.%s.extraVolumes: the volume name %q is taken" $name .name) -}}
{{- end -}}
{{- $volumes = append $volumes .name -}}
{{- end -}}
{{- range $c.extraVolumeMounts -}}
{{- if not (has .name $volumes) -}}
{{- fail (printf "components.%s.extraVolumeMounts: no volume named %q (add it to components.%s.extraVolumes)" $name .name $name) -}}
{{- end -}}
{{- end -}}
{{- $containers := list $name -}}
{{- range $kind := list "initContainers" "sidecars" -}}
{{- range (index $c $kind) -}}
{{- if has .name $containers -}}
{{- fail (printf "components.%s.%s: the container name %q is taken" $name $kind .name) -}}
{{- end -}}
{{- $containers = append $containers .name -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $smtp := .Values.mail.smtp -}}
{{- if and $smtp.username (not $smtp.passwordSecret.name) -}}
{{- fail "mail.smtp.username needs mail.smtp.passwordSecret.name: the worker refuses a username without a password" -}}
{{- end -}}
{{- if and .Values.tests.enabled (not .Values.components.gateway.enabled) -}}
{{- fail "tests.enabled: the helm test hooks check the gateway, which is disabled (set tests.enabled=false)" -}}
{{- end -}}
{{- if and .Values.preflight.enabled (not .Values.components.gateway.enabled) -}}
{{- fail "preflight.enabled: the Secret check runs in the gateway image, and the gateway is disabled (set preflight.enabled=false)" -}}
{{- end -}}
{{- range $route := .Values.routes -}}
{{- if not (hasKey $.Values.components $route.component) -}}
{{- fail (printf "routes: %s points at %q, which is not a component (components are: %s)" $route.path $route.component (keys $.Values.components | sortAlpha | join ", ")) -}}
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

{{/* "true" when the model admins are on: adminUi.enabled, or by default outside prod. */}}
{{- define "nova.adminEnabled" -}}
{{- $enabled := .Values.adminUi.enabled -}}
{{- if kindIs "invalid" $enabled -}}
{{- ne .Values.global.environment "prod" -}}
{{- else -}}
{{- $enabled -}}
{{- end -}}
{{- end -}}

{{/* The gateway's admin routes as JSON (path prefix -> the component's Service), {} when off. */}}
{{- define "nova.adminRoutes" -}}
{{- $routes := dict -}}
{{- if eq (include "nova.adminEnabled" .) "true" -}}
{{- range .Values.adminUi.routes -}}
{{- $target := index $.Values.components .component -}}
{{- $_ := set $routes .path (printf "http://%s:%d" (include "nova.componentName" (list $ .component)) (int $target.port)) -}}
{{- end -}}
{{- end -}}
{{- toJson $routes -}}
{{- end -}}

{{/* The edge's routes (Ingress, HTTPRoute): `routes`, and the admin paths to the gateway. */}}
{{- define "nova.edgeRoutes" -}}
{{- $routes := list -}}
{{- if eq (include "nova.adminEnabled" .) "true" -}}
{{- range .Values.adminUi.routes -}}
{{- $routes = append $routes (dict "path" .path "component" "gateway") -}}
{{- end -}}
{{- end -}}
{{- toJson (concat $routes .Values.routes) -}}
{{- end -}}

{{/*
Server processes of a component: its `workers` value, or else its CPU limit rounded up (at
least 1; "500m" -> 1, "2" -> 2, "1500m" -> 2). Call with the component's values.
*/}}
{{- define "nova.workers" -}}
{{- if .workers -}}
{{- int .workers -}}
{{- else -}}
{{- $cpu := toString (dig "limits" "cpu" "1" (.resources | default dict)) -}}
{{- $n := 1 -}}
{{- if hasSuffix "m" $cpu -}}
{{- $n = div (add (atoi (trimSuffix "m" $cpu)) 999) 1000 -}}
{{- else -}}
{{- $n = int (ceil (float64 $cpu)) -}}
{{- end -}}
{{- max 1 $n -}}
{{- end -}}
{{- end -}}
