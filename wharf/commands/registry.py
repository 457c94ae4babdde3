"""The one table that maps each command to its handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wharf.commands import messages as m
from wharf.commands.context import Context, Decision
from wharf.commands.handlers import (
    access,
    hosts,
    scheduling,
    secrets,
    services,
    tenants,
    workloads,
)

HANDLERS: dict[type[m.Command], Callable[[Context, Any], Decision]] = {
    m.AddPlan: tenants.add_plan,
    m.CreateTenant: tenants.create_tenant,
    m.ChangePlan: tenants.change_plan,
    m.SuspendTenant: tenants.suspend_tenant,
    m.ResumeTenant: tenants.resume_tenant,
    m.CloseTenant: tenants.close_tenant,
    m.PurgeTenant: tenants.purge_tenant,
    m.AddMember: access.add_member,
    m.RemoveMember: access.remove_member,
    m.ChangeRole: access.change_role,
    m.IssueToken: access.issue_token,
    m.RevokeToken: access.revoke_token,
    m.CreateContainer: workloads.create_container,
    m.StartContainer: workloads.start_container,
    m.StopContainer: workloads.stop_container,
    m.DeleteContainer: workloads.delete_container,
    m.CreateService: services.create_service,
    m.ScaleService: services.scale_service,
    m.SetAutoscalePolicy: services.set_autoscale_policy,
    m.AutoscaleService: services.autoscale_service,
    m.StartService: services.start_service,
    m.StopService: services.stop_service,
    m.DeleteService: services.delete_service,
    m.CreateVolume: workloads.create_volume,
    m.ResizeVolume: workloads.resize_volume,
    m.DeleteVolume: workloads.delete_volume,
    m.BackupVolume: workloads.backup_volume,
    m.RestoreVolume: workloads.restore_volume,
    m.SetSecret: secrets.set_secret,
    m.DeleteSecret: secrets.delete_secret,
    m.RegisterHost: hosts.register_host,
    m.DrainHost: hosts.drain_host,
    m.RemoveHost: hosts.remove_host,
    m.TakeLeadership: scheduling.take_leadership,
    m.PlaceContainer: scheduling.place_container,
    m.MarkUnschedulable: scheduling.mark_unschedulable,
    m.RecordRun: scheduling.record_run,
    m.RecordFailure: scheduling.record_failure,
    m.RecordDiskUsage: scheduling.record_disk_usage,
    m.EnforceDiskLimit: scheduling.enforce_disk_limit,
    m.RestartContainer: scheduling.restart_container,
    m.RecycleContainer: scheduling.recycle_container,
    m.RecordRemoved: scheduling.record_removed,
    m.AssignEndpoint: services.assign_endpoint,
    m.MarkHostLost: scheduling.mark_host_lost,
    m.MarkHostRecovered: scheduling.mark_host_recovered,
    m.RecordBackup: scheduling.record_backup,
    m.RecordRestore: scheduling.record_restore,
}
