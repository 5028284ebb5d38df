"""The delivery sensor's defaults follow Airflow's guidance, and its timeout class is the one Airflow raises."""

from __future__ import annotations

import warnings

from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor, sensor_timeout_class
from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation


def test_sensor_pokes_every_few_seconds_for_a_few_minutes_by_default():
    from airflow.sdk import DAG

    with DAG("sensor_defaults", schedule=None):
        sensor = DailyBotWebhookDeliverySensor(task_id="verify", channel="checkins", hook_id="h")
    # The sample arrives within seconds: poke mode with a short interval, bounded by a short timeout
    # (reschedule mode wants pokes at least 60 s apart).
    assert sensor.mode == "poke"
    assert sensor.poke_interval == 5
    assert sensor.timeout == 300


def test_reschedule_stays_available_for_long_waits():
    from airflow.sdk import DAG

    with DAG("sensor_reschedule", schedule=None):
        sensor = DailyBotWebhookDeliverySensor(
            task_id="verify", channel="checkins", hook_id="h", mode="reschedule", poke_interval=60
        )
    assert (sensor.mode, sensor.poke_interval) == ("reschedule", 60)


def test_rotation_verifies_in_poke_mode_with_its_own_bounds():
    from airflow.sdk import DAG

    with DAG("rotation_defaults", schedule=None) as dag:
        dailybot_webhook_rotation(channel="checkins", events=["kudos.posted"])
    verify = dag.get_task("rotate_checkins.verify_new_subscription")
    assert (verify.mode, verify.poke_interval, verify.timeout) == ("poke", 5, 300)


def test_timeout_class_is_the_one_airflow_raises_and_is_imported_without_a_deprecation():
    import airflow.sdk.bases.sensor as airflow_sensor

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        timeout_class = sensor_timeout_class()
    # BaseSensorOperator raises the class bound in its own module; the sensor re-raises a clearer one of it.
    assert timeout_class is airflow_sensor.AirflowSensorTimeout
