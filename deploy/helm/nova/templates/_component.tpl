{{/*
The one component template: ServiceAccount, env ConfigMap, Service, Deployment, PDB and HPA of
a component from its values entry. Call with (list $ "auth" $component).
*/}}
{{- define "nova.component" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $c := index . 2 -}}
{{- $full := include "nova.componentName" (list $root $name) -}}
{{- $plainEnv := include "nova.plainEnv" . -}}
{{- $singleton := $c.singleton -}}
{{- $env := include "nova.secretEnv" . | trim -}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $full }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "nova.labels" (list $root $name) | nindent 4 }}
  {{- with $c.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "nova.componentName" (list $root (printf "%s-env" $name)) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "nova.labels" (list $root $name) | nindent 4 }}
data:
  {{- $plainEnv | nindent 2 }}
{{- if $c.service.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "nova.labels" (list $root $name) | nindent 4 }}
  {{- with $c.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $c.service.type }}
  selector:
    {{- include "nova.selectorLabels" (list $root $name) | nindent 4 }}
  ports:
    - name: {{ $c.portName }}
      port: {{ $c.port }}
      targetPort: {{ $c.portName }}
      protocol: TCP
    {{- if $c.metrics.port }}
    - name: metrics
      port: {{ $c.metrics.port }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
{{- end }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $full }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "nova.labels" (list $root $name) | nindent 4 }}
spec:
  {{- if or $singleton (not $c.hpa.enabled) }}
  replicas: {{ ternary 1 $c.replicas $singleton }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "nova.selectorLabels" (list $root $name) | nindent 6 }}
  strategy:
    {{- if $singleton }}
    type: Recreate
    {{- else }}
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 25%
    {{- end }}
  template:
    metadata:
      labels:
        {{- include "nova.labels" (list $root $name) | nindent 8 }}
        {{- with $c.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/env: {{ $plainEnv | sha256sum }}
        {{- if $c.secretValues }}
        checksum/secret: {{ toJson $c.secretValues | sha256sum }}
        {{- end }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $full }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      {{- with $c.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with $root.Values.global.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with $c.initContainers }}
      initContainers:
        {{- include "nova.extraContainers" (list $root .) | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "nova.image" (list $root $c.image) | quote }}
          imagePullPolicy: {{ $c.image.pullPolicy }}
          {{- with $c.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if $c.port }}
          ports:
            - name: {{ $c.portName }}
              containerPort: {{ $c.port }}
              protocol: TCP
            {{- if $c.metrics.port }}
            - name: metrics
              containerPort: {{ $c.metrics.port }}
              protocol: TCP
            {{- end }}
          {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "nova.componentName" (list $root (printf "%s-env" $name)) }}
            {{- with $c.envFrom }}
            {{- tpl (toYaml .) $root | nindent 12 }}
            {{- end }}
          {{- with $env }}
          env:
            {{- . | nindent 12 }}
          {{- end }}
          startupProbe:
            {{- toYaml $c.probes.startup | nindent 12 }}
          livenessProbe:
            {{- toYaml $c.probes.liveness | nindent 12 }}
          readinessProbe:
            {{- toYaml $c.probes.readiness | nindent 12 }}
          {{- if gt (int $c.preStopSleepSeconds) 0 }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $c.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            {{- range $i, $path := $c.writablePaths }}
            - name: writable-{{ $i }}
              mountPath: {{ $path }}
            {{- end }}
            {{- if $c.mountSupergraph }}
            - name: supergraph
              mountPath: {{ $root.Values.supergraph.mountPath }}
              readOnly: true
            {{- end }}
            {{- with $c.extraVolumeMounts }}
            {{- tpl (toYaml .) $root | nindent 12 }}
            {{- end }}
        {{- with $c.sidecars }}
        {{- include "nova.extraContainers" (list $root .) | nindent 8 }}
        {{- end }}
      volumes:
        {{- range $i, $path := $c.writablePaths }}
        - name: writable-{{ $i }}
          emptyDir:
            sizeLimit: 256Mi
        {{- end }}
        {{- if $c.mountSupergraph }}
        - name: supergraph
          configMap:
            name: {{ include "nova.componentName" (list $root "supergraph") }}
        {{- end }}
        {{- with $c.extraVolumes }}
        {{- tpl (toYaml .) $root | nindent 8 }}
        {{- end }}
      {{- with $c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- $affinity := deepCopy ($c.affinity | default dict) }}
      {{- $replicated := and (not $singleton) (or $c.hpa.enabled (gt (int $c.replicas) 1)) }}
      {{- if and $replicated (ne $c.podAntiAffinityPreset "none") (not (hasKey $affinity "podAntiAffinity")) }}
      {{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "nova.selectorLabels" (list $root $name) | fromYaml)) }}
      {{- if eq $c.podAntiAffinityPreset "hard" }}
      {{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) }}
      {{- else }}
      {{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term))) }}
      {{- end }}
      {{- end }}
      {{- with $affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.topologySpreadConstraints }}
      {{- $constraints := list }}
      {{- range . }}
      {{- $constraint := deepCopy . }}
      {{- if not (hasKey $constraint "labelSelector") }}
      {{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "nova.selectorLabels" (list $root $name) | fromYaml)) }}
      {{- end }}
      {{- $constraints = append $constraints $constraint }}
      {{- end }}
      topologySpreadConstraints:
        {{- toYaml $constraints | nindent 8 }}
      {{- end }}
{{- if and $c.pdb.enabled (not $singleton) }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $full }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "nova.labels" (list $root $name) | nindent 4 }}
spec:
  maxUnavailable: {{ $c.pdb.maxUnavailable }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "nova.selectorLabels" (list $root $name) | nindent 6 }}
{{- end }}
{{- if and $c.hpa.enabled (not $singleton) }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $full }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "nova.labels" (list $root $name) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $full }}
  minReplicas: {{ $c.hpa.minReplicas }}
  maxReplicas: {{ $c.hpa.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $c.hpa.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
{{- end }}
{{- end -}}
