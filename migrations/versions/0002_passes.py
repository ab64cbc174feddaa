"""Fleet (vehicles, drivers), passes, pass-number serials, signing keys and the SMS outbox

Revision ID: 0002_passes
Revises: 0001_accounts
Create Date: 2026-11-22 00:10:42.556128
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = '0002_passes'
down_revision = '0001_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pass_serial',
    sa.Column('area_code', sa.String(length=6), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('area_code', name=op.f('pk_pass_serial'))
    )
    op.create_table('signing_key',
    sa.Column('kid', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('public_x', sa.String(length=64), nullable=False),
    sa.Column('public_y', sa.String(length=64), nullable=False),
    sa.Column('not_before', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('not_after', db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_key'))
    )
    op.create_table('driver',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_driver_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_driver')),
    sa.UniqueConstraint('enterprise_id', 'id_number', name=op.f('uq_driver_enterprise_id_id_number'))
    )
    with op.batch_alter_table('driver', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_driver_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_driver_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_driver_phone'), ['phone'], unique=False)

    op.create_table('vehicle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('vehicle_type', sa.String(length=32), nullable=False),
    sa.Column('capacity_kg', sa.Integer(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_vehicle_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle')),
    sa.UniqueConstraint('enterprise_id', 'plate', name=op.f('uq_vehicle_enterprise_id_plate'))
    )
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_plate'), ['plate'], unique=False)

    op.create_table('pass',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=12), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('co_driver_id', sa.Integer(), nullable=True),
    sa.Column('destination_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('cargo', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('valid_from', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('max_trips', sa.Integer(), nullable=False),
    sa.Column('trips_used', sa.Integer(), nullable=False),
    sa.Column('route_checkpoint_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('key_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('auto_approved', sa.Boolean(), nullable=False),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['co_driver_id'], ['driver.id'], name=op.f('fk_pass_co_driver_id_driver')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_pass_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['destination_enterprise_id'], ['enterprise.id'], name=op.f('fk_pass_destination_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['driver_id'], ['driver.id'], name=op.f('fk_pass_driver_id_driver')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_pass_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['user_account.id'], name=op.f('fk_pass_reviewer_id_user_account')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], name=op.f('fk_pass_vehicle_id_vehicle')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pass')),
    sa.UniqueConstraint('number', name=op.f('uq_pass_number'))
    )
    with op.batch_alter_table('pass', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pass_destination_enterprise_id'), ['destination_enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pass_driver_id'), ['driver_id'], unique=False)
        batch_op.create_index('ix_pass_enterprise_status', ['enterprise_id', 'status'], unique=False)
        batch_op.create_index('ix_pass_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pass_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('sms_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=100), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('to', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=16), nullable=True),
    sa.Column('error_text', sa.String(length=500), nullable=True),
    sa.Column('created_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_sms_message_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['pass_id'], ['pass.id'], name=op.f('fk_sms_message_pass_id_pass')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_message')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_sms_message_dedupe_key'))
    )
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.create_index('ix_sms_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_pass_id'), ['pass_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_provider_id'), ['provider_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_message_provider_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_pass_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_enterprise_id'))
        batch_op.drop_index('ix_sms_due')

    op.drop_table('sms_message')
    with op.batch_alter_table('pass', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pass_vehicle_id'))
        batch_op.drop_index('ix_pass_status_created')
        batch_op.drop_index('ix_pass_enterprise_status')
        batch_op.drop_index(batch_op.f('ix_pass_driver_id'))
        batch_op.drop_index(batch_op.f('ix_pass_destination_enterprise_id'))

    op.drop_table('pass')
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_plate'))
        batch_op.drop_index(batch_op.f('ix_vehicle_enterprise_id'))

    op.drop_table('vehicle')
    with op.batch_alter_table('driver', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_driver_phone'))
        batch_op.drop_index(batch_op.f('ix_driver_name'))
        batch_op.drop_index(batch_op.f('ix_driver_enterprise_id'))

    op.drop_table('driver')
    op.drop_table('signing_key')
    op.drop_table('pass_serial')
