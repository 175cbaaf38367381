"""Tables by area. Import from here so every table is registered on the metadata."""

from sqlmodel import SQLModel

from automation.models.catalog import Policy, Product
from automation.models.customers import (
    CONSENT_KINDS,
    STAGE_ORDER,
    ActivityStatus,
    ConsentChange,
    Customer,
    Identity,
    LifecycleStage,
    ValueTier,
)
from automation.models.events import Event
from automation.models.journeys import (
    Enrollment,
    EnrollmentStatus,
    Journey,
    JourneyStatus,
    JourneyVersion,
    Message,
    Timer,
    Transition,
)
from automation.models.keys import ApiKey, Scope

metadata = SQLModel.metadata

__all__ = [
    "CONSENT_KINDS",
    "STAGE_ORDER",
    "ActivityStatus",
    "ApiKey",
    "ConsentChange",
    "Customer",
    "Enrollment",
    "EnrollmentStatus",
    "Event",
    "Identity",
    "Journey",
    "JourneyStatus",
    "JourneyVersion",
    "LifecycleStage",
    "Message",
    "Policy",
    "Product",
    "Scope",
    "Timer",
    "Transition",
    "ValueTier",
    "metadata",
]
