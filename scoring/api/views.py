"""``GET /api/score-changes/``: the score-change feed (rows are only appended: ordered by ``(at, id)``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.views import APIView

from revops.base.feed import feed_response
from revops.base.roles import may_list
from revops.base.scoping import scoped

from ..models import ScoreChange
from .serializers import ScoreChangeSerializer


class MayList(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return may_list(request.user)


class ScoreChangeFeedView(APIView):
    """The score changes of the leads the caller sees (``routing/scoping.py``), oldest first; ``updated_since`` or
    ``cursor`` as on every feed (README, Syncing a warehouse)."""

    permission_classes = [permissions.IsAuthenticated, MayList]

    @extend_schema(
        parameters=[OpenApiParameter("updated_since", OpenApiTypes.DATETIME, required=False,
                                     description="Score changes at or after this ISO 8601 time."),
                    OpenApiParameter("cursor", str, required=False, description="The previous page's cursor."),
                    OpenApiParameter("limit", int, required=False)],
        responses={200: inline_serializer("ScoreChangeFeedPage", {
            "results": ScoreChangeSerializer(many=True), "cursor": serializers.CharField(),
            "next": serializers.URLField(allow_null=True)})},
    )
    def get(self, request):
        return feed_response(request, scoped(ScoreChange.objects.all(), request.user), field="at",
                             serializer_class=ScoreChangeSerializer)
