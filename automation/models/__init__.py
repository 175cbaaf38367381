"""Tables by area. Import from here so every table is registered on the metadata."""

from sqlmodel import SQLModel

from automation.models.attribution import Attribution
from automation.models.catalog import Policy, Product
from automation.models.channels import ChannelPause
from automation.models.customers import (
    CONSENT_KINDS,
    STAGE_ORDER,
    ActivityStatus,
    ConsentChange,
    Customer,
    Identity,
    LifecycleStage,
    ValueTier,
    promote,
    stage_for_policy_count,
)
from automation.models.definitions import DefinitionsStamp
from automation.models.events import Event
from automation.models.journeys import (
    CallTask,
    Enrollment,
    EnrollmentStatus,
    Journey,
    JourneyStatus,
    JourneyVersion,
    Message,
    MessageStatus,
    Timer,
    Transition,
)
from automation.models.keys import ApiKey, Scope
from automation.models.offers import OfferCredit, OfferSet
from automation.models.scheduler import SchedulerState
from automation.models.segments import Segment, SegmentChange, SegmentMember
from automation.models.users import Role, User

metadata = SQLModel.metadata

__all__ = [
    "CONSENT_KINDS",
    "STAGE_ORDER",
    "ActivityStatus",
    "ApiKey",
    "Attribution",
    "CallTask",
    "ChannelPause",
    "ConsentChange",
    "Customer",
    "DefinitionsStamp",
    "Enrollment",
    "EnrollmentStatus",
    "Event",
    "Identity",
    "Journey",
    "JourneyStatus",
    "JourneyVersion",
    "LifecycleStage",
    "Message",
    "MessageStatus",
    "OfferCredit",
    "OfferSet",
    "Policy",
    "Product",
    "Role",
    "SchedulerState",
    "Scope",
    "Segment",
    "SegmentChange",
    "SegmentMember",
    "Timer",
    "Transition",
    "User",
    "ValueTier",
    "metadata",
    "promote",
    "stage_for_policy_count",
]
