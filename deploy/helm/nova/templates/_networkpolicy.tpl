{{/* Egress rules shared by the NetworkPolicies. */}}

{{/* DNS: networkPolicy.dns.to (kube-dns pods, the NodeLocal DNSCache address) on its ports. */}}
{{- define "nova.netpol.dns" }}
{{- $dns := .Values.networkPolicy.dns }}
- ports:
    {{- range $dns.ports }}
    - {port: {{ . }}, protocol: UDP}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
  {{- with $dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* The OTLP collector of global.otlpEndpoint, when it is set. */}}
{{- define "nova.netpol.otlp" }}
{{- $endpoint := .Values.global.otlpEndpoint }}
{{- if $endpoint }}
{{- $otlp := .Values.networkPolicy.otlp }}
- ports:
    - {port: {{ include "nova.otlpPort" . }}, protocol: TCP}
  {{- with $otlp.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* networkPolicy.otlp.port, or the port of global.otlpEndpoint (its scheme's default without one). */}}
{{- define "nova.otlpPort" -}}
{{- if .Values.networkPolicy.otlp.port -}}
{{- .Values.networkPolicy.otlp.port -}}
{{- else -}}
{{- $url := urlParse .Values.global.otlpEndpoint -}}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" -}}
{{- $port | default (ternary "443" "80" (eq $url.scheme "https")) -}}
{{- end -}}
{{- end -}}

{{/* The SMTP relay of mail.smtp, for components with `mail`, when mail.smtp.host is set. */}}
{{- define "nova.netpol.smtp" }}
{{- if .Values.mail.smtp.host }}
- ports:
    - {port: {{ .Values.mail.smtp.port }}, protocol: TCP}
  {{- with .Values.networkPolicy.smtp.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "nova.netpol.external" }}
{{- $root := index . 0 }}
{{- $target := index . 1 }}
{{- $inCluster := index . 2 }}
{{- $pods := index . 3 }}
{{- $port := ternary 6379 5432 (eq $target "redis") }}
- ports:
    - {port: {{ ternary $port (index $root.Values.networkPolicy $target).port $inCluster }}, protocol: TCP}
  {{- if $inCluster }}
  to:
    - podSelector:
        matchLabels:
          {{- toYaml $pods | nindent 10 }}
  {{- else if (index $root.Values.networkPolicy $target).cidrs }}
  to:
    {{- range (index $root.Values.networkPolicy $target).cidrs }}
    - ipBlock: {cidr: {{ . }}}
    {{- end }}
  {{- end }}
{{- end }}
