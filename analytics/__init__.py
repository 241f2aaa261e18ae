"""Shared package: configuration, the event contract, storage schema and metric logic.

Every app folder (api/, streaming/, batch/, dags/, plugins/) may import from here;
no app folder imports another.
"""
