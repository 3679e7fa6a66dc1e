"""Users (never their password hashes or tokens) and the record of what they changed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from omnisync.core.models import ApiToken, User, UserAction
from omnisync.hub.views.shapes import UserActionOut, UserOut


def user_list(session: Session, users: Sequence[User]) -> list[UserOut]:
    ids = [user.id for user in users]
    tokens = dict(
        session.exec(
            select(ApiToken.user_id, func.count())
            .where(col(ApiToken.user_id).in_(ids), col(ApiToken.revoked_at).is_(None))
            .group_by(col(ApiToken.user_id))
        ).all()
    )
    return [
        UserOut(
            name=user.name,
            role=user.role,
            created_at=user.created_at.isoformat(),
            disabled_at=user.disabled_at.isoformat() if user.disabled_at else None,
            api_tokens=tokens.get(user.id or 0, 0),
        )
        for user in users
    ]


def user_action_list(actions: Sequence[UserAction]) -> list[UserActionOut]:
    return [
        UserActionOut(
            id=action.id or 0,
            at=action.at.isoformat(),
            user=action.user_name,
            via=action.via,
            action=action.action,
            target=action.target,
            detail=action.detail,
        )
        for action in actions
    ]
