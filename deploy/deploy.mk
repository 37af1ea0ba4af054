# Kubernetes targets, included by the root Makefile (`include deploy/deploy.mk`).
# Helm rendering and linting go through deploy/render.py (PyPI helm-python-sdk), so no `helm`
# binary is needed for them; kind, skaffold, kubectl and docker are needed for a real cluster.
# `make images` and `make deploy-test` need Docker or podman only (deploy/containers/).

PYTHON ?= .venv/bin/python
KIND_CLUSTER ?= nova
NOVA_NAMESPACE ?= nova
SKAFFOLD ?= skaffold
SKAFFOLD_DEFAULT_REPO ?= localhost:5001
HELM_VALUES ?=
HELM_TEMPLATE_OUT ?= -
DEPLOY_IMAGES := nova-gateway nova-auth nova-users nova-worker nova-frontend

.PHONY: kind-up kind-down deploy-kind dev-k8s helm-lint helm-template images deploy-golden deploy-policy deploy-supergraph deploy-test deploy-check

kind-up: ## create the kind cluster, local registry (localhost:5001), ingress and dev Secrets
	KIND_CLUSTER=$(KIND_CLUSTER) NOVA_NAMESPACE=$(NOVA_NAMESPACE) deploy/kind/kind-up.sh

kind-down: ## delete the kind cluster (keeps the registry; KIND_DOWN_FLAGS=--registry removes it)
	KIND_CLUSTER=$(KIND_CLUSTER) deploy/kind/kind-down.sh $(KIND_DOWN_FLAGS)

deploy-kind: ## build the images and install the chart on kind once (skaffold run -p dev)
	SKAFFOLD_DEFAULT_REPO=$(SKAFFOLD_DEFAULT_REPO) $(SKAFFOLD) run -p dev

dev-k8s: ## build, deploy and watch: rebuild/sync on change, port-forward 8000 and 3000
	SKAFFOLD_DEFAULT_REPO=$(SKAFFOLD_DEFAULT_REPO) $(SKAFFOLD) dev -p dev --port-forward

helm-lint: ## helm lint --strict of the chart with its defaults and every values-*.yaml
	$(PYTHON) deploy/render.py lint --all

helm-template: ## render the chart (HELM_VALUES="-f deploy/helm/nova/values-kind.yaml")
ifeq ($(HELM_TEMPLATE_OUT),-)
	@$(PYTHON) deploy/render.py template $(HELM_VALUES)
else
	$(PYTHON) deploy/render.py template $(HELM_VALUES) -o $(HELM_TEMPLATE_OUT)
endif

images: ## build the five images with Docker or podman (tag: IMAGE_TAG, default dev; local stand-ins for unreachable base images)
	IMAGE_TAG=$(or $(IMAGE_TAG),dev) deploy/containers/images.sh

DEPLOY_TEST_ARGS ?=

deploy-test: ## run the chart's workloads as containers (podman) from the images, then smoke, upgrade and kill tests
	IMAGE_TAG=$(or $(IMAGE_TAG),dev) $(PYTHON) deploy/containers/run.py $(DEPLOY_TEST_ARGS)

deploy-golden: ## regenerate tests/deploy/golden/*.yaml after an intended chart change
	NOVA_UPDATE_GOLDEN=1 $(PYTHON) -m pytest tests/deploy -q -p no:cacheprovider -k golden

CHECKOV_VERSION ?= 3.3.30

deploy-policy: ## checkov on the rendered production example (isolated, via uv tool run)
	@mkdir -p .nova/deploy
	$(PYTHON) deploy/render.py template -f deploy/helm/nova/values-prod-example.yaml -o .nova/deploy/prod-example.yaml
	uv tool run --python $(PYTHON) --from checkov==$(CHECKOV_VERSION) checkov --file .nova/deploy/prod-example.yaml \
	  --framework kubernetes --skip-download --compact --quiet --skip-check CKV_K8S_35,CKV_K8S_43

deploy-supergraph: ## copy the composed deploy/supergraph.graphql into the chart (Helm reads files inside it only)
	cp deploy/supergraph.graphql deploy/helm/nova/files/supergraph.graphql

deploy-check: ## the offline deploy tests: renders, schemas, goldens, policy, cross-checks
	$(PYTHON) -m pytest tests/deploy -q -p no:cacheprovider
