/**
 * Simulated EC2 Auto Scaling: groups that replace an instance they find unhealthy.
 *
 * A stopped (or stopping, terminated) instance of a group fails its EC2 health check; Auto Scaling
 * terminates it and launches a replacement, unless the group's HealthCheck or ReplaceUnhealthy
 * process is suspended, and launches nothing while Launch is suspended (EC2 Auto Scaling User Guide,
 * "Health checks for instances in an Auto Scaling group" and "Suspend and resume Amazon EC2 Auto
 * Scaling processes"). Scale-in protection does not stop a health-check replacement.
 * Health is checked every `HEALTH_CHECK_MS` here; the replacement runs `LAUNCH_MS` after it is launched.
 */
import type * as asg from '@aws-sdk/client-auto-scaling';
import type { Handler, SimCore, SimServiceModule } from './core';
import type { SimEc2 } from './ec2';

export const HEALTH_CHECK_MS = 30_000;
export const LAUNCH_MS = 60_000;
const PROCESSES = ['Launch', 'Terminate', 'AddToLoadBalancer', 'AlarmNotification', 'AZRebalance', 'HealthCheck', 'InstanceRefresh', 'ReplaceUnhealthy', 'ScheduledActions'];

interface Group { name: string; region: string; instanceIds: string[]; suspended: Set<string>; nextCheck: number; launched: string[] }

export class SimAutoScaling implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    DescribeAutoScalingInstances: (i, r) => this.describeAutoScalingInstances(i, r),
    DescribeAutoScalingGroups: (i, r) => this.describeAutoScalingGroups(i, r),
    SuspendProcesses: (i, r) => this.suspendProcesses(i, r),
    ResumeProcesses: (i, r) => this.resumeProcesses(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['SuspendProcesses', 'ResumeProcesses']);

  private readonly groups: Group[] = [];
  /** Called with each replacement instance Auto Scaling launches (the drill starts its application). */
  onLaunch: (instanceId: string, group: string) => void = () => {};

  constructor(private readonly core: SimCore, private readonly ec2: SimEc2) {
    core.addTicker((until) => this.healthChecks(until));
  }

  /** A group that owns these (already seeded) instances; they carry the aws:autoscaling:groupName tag. */
  addGroup(g: { name: string; region: string; instanceIds: string[] }): void {
    this.core.settle();
    for (const id of g.instanceIds) this.ec2.setTag(id, 'aws:autoscaling:groupName', g.name);
    this.groups.push({ ...g, instanceIds: [...g.instanceIds], suspended: new Set(), nextCheck: this.core.clock.now() + HEALTH_CHECK_MS, launched: [] });
  }

  /** The instances a group launched as replacements, in order. */
  replacements(group: string): string[] {
    return [...(this.groups.find((g) => g.name === group)?.launched ?? [])];
  }

  private healthChecks(until: number): void {
    for (const g of this.groups) {
      for (; g.nextCheck <= until; g.nextCheck += HEALTH_CHECK_MS) this.check(g, g.nextCheck);
    }
  }

  private check(g: Group, at: number): void {
    if (g.suspended.has('HealthCheck') || g.suspended.has('ReplaceUnhealthy')) return;
    for (const id of [...g.instanceIds]) {
      const state = this.ec2.instance(id)?.state;
      if (state === 'running' || state === 'pending') continue;
      // Unhealthy: terminate it and, unless launching is suspended, launch a replacement.
      g.instanceIds = g.instanceIds.filter((x) => x !== id);
      if (state !== 'terminated') this.ec2.setState(id, 'terminated', at);
      if (g.suspended.has('Launch')) continue;
      const replacement = `i-0a5${String(this.groups.indexOf(g)).padStart(2, '0')}${String(g.launched.length + 1).padStart(12, '0')}`;
      this.ec2.addInstance({ instanceId: replacement, region: g.region, state: 'pending', tags: { 'aws:autoscaling:groupName': g.name } });
      this.ec2.setState(replacement, 'running', at + LAUNCH_MS);
      g.instanceIds.push(replacement);
      g.launched.push(replacement);
      this.onLaunch(replacement, g.name);
    }
  }

  private find(name: string | undefined, region: string): Group {
    const g = this.groups.find((x) => x.name === name && x.region === region);
    if (!g) throw this.core.awsError('autoscaling', 'ValidationError', `AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
    return g;
  }

  private describeAutoScalingInstances(input: asg.DescribeAutoScalingInstancesType, region: string): asg.AutoScalingInstancesType {
    // Unknown instance ids are left out of the answer, not an error.
    const ids = input.InstanceIds ?? this.groups.filter((g) => g.region === region).flatMap((g) => g.instanceIds);
    return {
      AutoScalingInstances: ids.flatMap((id) => {
        const g = this.groups.find((x) => x.region === region && x.instanceIds.includes(id));
        const state = this.ec2.instance(id)?.state;
        return g ? [{
          InstanceId: id, AutoScalingGroupName: g.name, AvailabilityZone: `${region}a`,
          LifecycleState: state === 'pending' ? 'Pending' : 'InService',
          HealthStatus: state === 'running' || state === 'pending' ? 'HEALTHY' : 'UNHEALTHY', ProtectedFromScaleIn: false,
        }] : [];
      }),
    };
  }

  private describeAutoScalingGroups(input: asg.AutoScalingGroupNamesType, region: string): asg.AutoScalingGroupsType {
    const found = this.groups.filter((g) => g.region === region && (!input.AutoScalingGroupNames?.length || input.AutoScalingGroupNames.includes(g.name)));
    return {
      AutoScalingGroups: found.map((g) => ({
        AutoScalingGroupName: g.name, MinSize: 1, MaxSize: 1, DesiredCapacity: 1, DefaultCooldown: 300,
        AvailabilityZones: [`${region}a`], HealthCheckType: 'EC2', CreatedTime: new Date(0),
        Instances: g.instanceIds.map((id) => ({ InstanceId: id, AvailabilityZone: `${region}a`, LifecycleState: 'InService', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false })),
        SuspendedProcesses: [...g.suspended].map((p) => ({ ProcessName: p, SuspensionReason: 'User suspended at a simulated time' })),
      })),
    };
  }

  private processesOf(input: asg.ScalingProcessQuery): string[] {
    const names = input.ScalingProcesses?.length ? input.ScalingProcesses : PROCESSES;
    const bad = names.find((p) => !PROCESSES.includes(p));
    if (bad) throw this.core.awsError('autoscaling', 'ValidationError', `Invalid scaling process: ${bad}`);
    return names;
  }

  private suspendProcesses(input: asg.ScalingProcessQuery, region: string): object {
    const g = this.find(input.AutoScalingGroupName, region);
    for (const p of this.processesOf(input)) g.suspended.add(p);
    this.core.recordEvent(`asg/${g.name}`, 'processes', `suspended ${[...g.suspended].join(',')}`);
    return {};
  }

  private resumeProcesses(input: asg.ScalingProcessQuery, region: string): object {
    const g = this.find(input.AutoScalingGroupName, region);
    for (const p of this.processesOf(input)) g.suspended.delete(p);
    return {};
  }
}
