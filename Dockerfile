# The official Airflow image with this provider installed from the repository (used by docker-compose.yaml).
#
#   docker build -t airflow-provider-dailybot:local .
#   docker build --build-arg AIRFLOW_VERSION=3.1.8 -t airflow-provider-dailybot:3.1.8 .
#
# Pinning apache-airflow==${AIRFLOW_VERSION} in the same pip command keeps pip from upgrading or
# downgrading Airflow while it resolves the provider's dependencies (the official image's pattern).
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}
ARG AIRFLOW_VERSION

# Only what building the distribution needs (pyproject.toml names README.md and LICENSE).
COPY --chown=airflow:0 pyproject.toml README.md CHANGELOG.md LICENSE /opt/airflow-provider-dailybot/
COPY --chown=airflow:0 airflow_provider_dailybot /opt/airflow-provider-dailybot/airflow_provider_dailybot

RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /opt/airflow-provider-dailybot \
    && python -c "import airflow_provider_dailybot"
