{{/* The release's base name: the release name, plus "-herald" unless it already says herald. */}}
{{- define "herald.fullname" -}}
{{- if contains "herald" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-herald" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "herald.labels" -}}
app.kubernetes.io/name: herald
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "name" "ingest"). */}}
{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: herald
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "herald.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "herald.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the admin key and the key ring (and the URLs when no other Secret is named). */}}
{{- define "herald.secretName" -}}
{{- if .Values.secrets.create -}}
{{- printf "%s-secrets" (include "herald.fullname" .) -}}
{{- else -}}
{{- required "secrets.existingSecret is required unless secrets.create is true" .Values.secrets.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* A service's environment, ConfigMaps aside: call with (dict "root" $ "name" "routing" "svc" $svc). */}}
{{- define "herald.env" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
{{- $secret := include "herald.secretName" $root -}}
- name: HOST
  value: {{ $values.listenHost | quote }}
- name: PORT
  value: {{ .svc.port | quote }}
- name: HERALD_ADMIN_KEY
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $values.secrets.adminKeyKey }} }
{{- if has .name (list "routing" "delivery") }}
- name: HERALD_SECRET_KEYS
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $values.secrets.secretKeysKey }} }
{{- end }}
{{- with $values.rabbitmq.clusterOperator }}
{{- if .defaultUserSecret }}
{{- /* Only to compose AMQP_URL below (Kubernetes expands $(VAR) from variables defined before it); Herald reads AMQP_URL alone. */}}
- name: HERALD_CHART_AMQP_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ .defaultUserSecret }}, key: username }
- name: HERALD_CHART_AMQP_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ .defaultUserSecret }}, key: password }
- name: HERALD_CHART_AMQP_HOST
  valueFrom:
    secretKeyRef: { name: {{ .defaultUserSecret }}, key: host }
- name: HERALD_CHART_AMQP_PORT
  valueFrom:
    secretKeyRef: { name: {{ .defaultUserSecret }}, key: port }
- name: AMQP_URL
  value: {{ printf "%s://$(HERALD_CHART_AMQP_USERNAME):$(HERALD_CHART_AMQP_PASSWORD)@$(HERALD_CHART_AMQP_HOST):$(HERALD_CHART_AMQP_PORT)%s" .scheme (ternary (printf "/%s" (.vhost | urlquery)) "" (ne .vhost "")) | quote }}
{{- end }}
{{- end }}
{{- if not $values.rabbitmq.clusterOperator.defaultUserSecret }}
- name: AMQP_URL
  valueFrom:
    secretKeyRef: { name: {{ default $secret $values.rabbitmq.url.secretName }}, key: {{ $values.rabbitmq.url.key | quote }} }
{{- end }}
- name: MONGO_URL
  valueFrom:
    secretKeyRef: { name: {{ default $secret $values.mongodb.url.secretName }}, key: {{ $values.mongodb.url.key | quote }} }
{{- if $values.tls.enabled }}
- name: RPC_TLS_CERT_FILE
  value: /etc/herald/tls/tls.crt
- name: RPC_TLS_KEY_FILE
  value: /etc/herald/tls/tls.key
{{- if $values.tls.clientAuth }}
- name: RPC_TLS_CLIENT_CA_FILE
  value: /etc/herald/tls/ca.crt
- name: RPC_TLS_CLIENT_AUTH
  value: {{ $values.tls.clientAuth | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Seconds Kubernetes waits after SIGTERM: preStop's sleep, then the longer of the service's own 30 s
     exit deadline and SHUTDOWN_TIMEOUT_MS, then a margin. Call with (dict "root" $ "svc" $svc). */}}
{{- define "herald.gracePeriodSeconds" -}}
{{- $config := merge (dict) .svc.config .root.Values.config -}}
{{- $shutdownMs := int (default "15000" (get $config "SHUTDOWN_TIMEOUT_MS")) -}}
{{- $shutdownS := div (add $shutdownMs 999) 1000 -}}
{{- add .root.Values.shutdown.preStopSleepSeconds (max 30 $shutdownS) .root.Values.shutdown.marginSeconds -}}
{{- end -}}

{{/* The queue a service consumes, with AMQP_NAMESPACE's prefix. */}}
{{- define "herald.queue" -}}
{{- $queues := dict "routing" "routing.events" "delivery" "delivery.tasks" "audit" "audit.attempts" -}}
{{- $config := merge (dict) .svc.config .root.Values.config -}}
{{- $ns := toString (default "" (get $config "AMQP_NAMESPACE")) -}}
{{- if $ns }}{{ $ns }}.{{ end }}{{ get $queues .name -}}
{{- end -}}
