"""Checkpoints, officer assignments, trips (one open per pass), scans and anomalies

Revision ID: 0003_checkpoints
Revises: 0002_passes
Create Date: 2026-11-22 00:33:00.150966
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core import db

revision = '0003_checkpoints'
down_revision = '0002_passes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_checkpoint_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint')),
    sa.UniqueConstraint('code', name=op.f('uq_checkpoint_code'))
    )
    with op.batch_alter_table('checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoint_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('officer_checkpoint',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoint.id'], name=op.f('fk_officer_checkpoint_checkpoint_id_checkpoint')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_officer_checkpoint_user_id_user_account')),
    sa.PrimaryKeyConstraint('user_id', 'checkpoint_id', name=op.f('pk_officer_checkpoint'))
    )
    op.create_table('trip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('entered_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('entry_checkpoint_id', sa.Integer(), nullable=True),
    sa.Column('arrived_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrival_checkpoint_id', sa.Integer(), nullable=True),
    sa.Column('exited_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exit_checkpoint_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['arrival_checkpoint_id'], ['checkpoint.id'], name=op.f('fk_trip_arrival_checkpoint_id_checkpoint')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_trip_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['entry_checkpoint_id'], ['checkpoint.id'], name=op.f('fk_trip_entry_checkpoint_id_checkpoint')),
    sa.ForeignKeyConstraint(['exit_checkpoint_id'], ['checkpoint.id'], name=op.f('fk_trip_exit_checkpoint_id_checkpoint')),
    sa.ForeignKeyConstraint(['pass_id'], ['pass.id'], name=op.f('fk_trip_pass_id_pass')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trip')),
    sa.UniqueConstraint('pass_id', 'seq', name=op.f('uq_trip_pass_id_seq'))
    )
    with op.batch_alter_table('trip', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trip_entered_at'), ['entered_at'], unique=False)
        batch_op.create_index('ix_trip_enterprise_state', ['enterprise_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_trip_plate'), ['plate'], unique=False)
        batch_op.create_index(batch_op.f('ix_trip_state'), ['state'], unique=False)
        batch_op.create_index('uq_trip_open_per_pass', ['pass_id'], unique=True, sqlite_where=sa.text("state IN ('entered', 'arrived')"), postgresql_where=sa.text("state IN ('entered', 'arrived')"))

    op.create_table('anomaly',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trip_id', sa.Integer(), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('detected_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_anomaly_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['pass_id'], ['pass.id'], name=op.f('fk_anomaly_pass_id_pass')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user_account.id'], name=op.f('fk_anomaly_resolved_by_id_user_account')),
    sa.ForeignKeyConstraint(['trip_id'], ['trip.id'], name=op.f('fk_anomaly_trip_id_trip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly')),
    sa.UniqueConstraint('trip_id', 'kind', name=op.f('uq_anomaly_trip_id_kind'))
    )
    with op.batch_alter_table('anomaly', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomaly_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('ix_anomaly_open', ['resolved_at', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomaly_pass_id'), ['pass_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomaly_trip_id'), ['trip_id'], unique=False)

    op.create_table('scan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.String(length=36), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=True),
    sa.Column('trip_id', sa.Integer(), nullable=True),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=8), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=True),
    sa.Column('annuls_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('scanned_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['annuls_id'], ['scan.id'], name=op.f('fk_scan_annuls_id_scan')),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoint.id'], name=op.f('fk_scan_checkpoint_id_checkpoint')),
    sa.ForeignKeyConstraint(['officer_id'], ['user_account.id'], name=op.f('fk_scan_officer_id_user_account')),
    sa.ForeignKeyConstraint(['pass_id'], ['pass.id'], name=op.f('fk_scan_pass_id_pass')),
    sa.ForeignKeyConstraint(['trip_id'], ['trip.id'], name=op.f('fk_scan_trip_id_trip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan')),
    sa.UniqueConstraint('annuls_id', name=op.f('uq_scan_annuls_id')),
    sa.UniqueConstraint('scan_id', name=op.f('uq_scan_scan_id'))
    )
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.create_index('ix_scan_checkpoint_recorded', ['checkpoint_id', 'recorded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_pass_id'), ['pass_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_trip_id'), ['trip_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_trip_id'))
        batch_op.drop_index(batch_op.f('ix_scan_pass_id'))
        batch_op.drop_index(batch_op.f('ix_scan_officer_id'))
        batch_op.drop_index('ix_scan_checkpoint_recorded')

    op.drop_table('scan')
    with op.batch_alter_table('anomaly', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomaly_trip_id'))
        batch_op.drop_index(batch_op.f('ix_anomaly_pass_id'))
        batch_op.drop_index('ix_anomaly_open')
        batch_op.drop_index(batch_op.f('ix_anomaly_enterprise_id'))

    op.drop_table('anomaly')
    with op.batch_alter_table('trip', schema=None) as batch_op:
        batch_op.drop_index('uq_trip_open_per_pass', sqlite_where=sa.text("state IN ('entered', 'arrived')"), postgresql_where=sa.text("state IN ('entered', 'arrived')"))
        batch_op.drop_index(batch_op.f('ix_trip_state'))
        batch_op.drop_index(batch_op.f('ix_trip_plate'))
        batch_op.drop_index('ix_trip_enterprise_state')
        batch_op.drop_index(batch_op.f('ix_trip_entered_at'))

    op.drop_table('trip')
    op.drop_table('officer_checkpoint')
    with op.batch_alter_table('checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoint_enterprise_id'))

    op.drop_table('checkpoint')
