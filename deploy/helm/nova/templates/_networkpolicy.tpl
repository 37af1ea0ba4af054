{{/* Egress rules shared by the NetworkPolicies. */}}
{{- define "nova.netpol.dns" }}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    {{- range .dnsPorts }}
    - {port: {{ . }}, protocol: UDP}
    - {port: {{ . }}, protocol: TCP}
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
