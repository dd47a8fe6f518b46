"""The app's routes, one :class:`fastapi.APIRouter` per resource."""
