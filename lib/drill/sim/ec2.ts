/** Simulated EC2: instances, their network interfaces and security groups. */
import type * as ec2 from '@aws-sdk/client-ec2';
import type { Handler, SimCore, SimServiceModule, Transition } from './core';

export type Ec2State = 'pending' | 'running' | 'shutting-down' | 'stopping' | 'stopped' | 'terminated';

export interface SimInstanceSeed {
  instanceId: string; region: string; state?: Ec2State; privateIpAddress?: string; vpcId?: string;
  /** How many network interfaces (default 1), each with the security group `sg-0app...` of its VPC. */
  networkInterfaces?: number;
  tags?: Record<string, string>;
}
export interface SimInstanceView { instanceId: string; region: string; state: Ec2State; privateIpAddress: string; vpcId: string }

const EC2_STATE_CODES: Record<Ec2State, number> = {
  pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80,
};
const ec2StateOf = (s: Ec2State): ec2.InstanceState => ({ Code: EC2_STATE_CODES[s], Name: s });

interface Instance {
  instanceId: string; region: string; state: Ec2State; privateIpAddress: string; vpcId: string; stopAt?: Transition; eniIds: string[];
  tags: Record<string, string>;
}
interface NetworkInterface { id: string; region: string; vpcId: string; instanceId: string; groups: string[] }
interface SecurityGroup { id: string; name: string; region: string; vpcId: string }

export class SimEc2 implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    DescribeInstances: (i, r) => this.describeInstances(i, r),
    StopInstances: (i, r) => this.stopInstances(i, r),
    DescribeNetworkInterfaces: (i, r) => this.describeNetworkInterfaces(i, r),
    ModifyNetworkInterfaceAttribute: (i, r) => this.modifyNetworkInterfaceAttribute(i, r),
    DescribeSecurityGroups: (i, r) => this.describeSecurityGroups(i, r),
    StartInstances: (i, r) => this.startInstances(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['StopInstances', 'StartInstances', 'ModifyNetworkInterfaceAttribute']);

  private readonly instances = new Map<string, Instance>();
  private readonly enis = new Map<string, NetworkInterface>();
  private readonly securityGroups = new Map<string, SecurityGroup>();

  constructor(private readonly core: SimCore) {}

  // --- seeding and observation -----------------------------------------------------------------

  addInstance(i: SimInstanceSeed): void {
    const vpcId = i.vpcId ?? 'vpc-0sim0000000000001';
    const suffix = i.instanceId.replace(/^i-/, '').slice(-12);
    const eniIds = Array.from({ length: i.networkInterfaces ?? 1 }, (_, n) => `eni-${n}${suffix}`);
    for (const id of eniIds) this.enis.set(id, { id, region: i.region, vpcId, instanceId: i.instanceId, groups: ['sg-0app0000000000001'] });
    this.instances.set(i.instanceId, {
      instanceId: i.instanceId, region: i.region, state: i.state ?? 'running',
      privateIpAddress: i.privateIpAddress ?? `10.0.0.${this.instances.size + 10}`, vpcId, eniIds, tags: { ...i.tags },
    });
  }

  /** A security group, as a stack would create it (the controller's isolation group, say). */
  addSecurityGroup(g: { id: string; name: string; region: string; vpcId: string }): void {
    this.securityGroups.set(g.id, { ...g });
  }

  /** The security groups of each of the instance's network interfaces. */
  networkInterfacesOf(instanceId: string): Array<{ id: string; groups: string[] }> {
    return (this.instances.get(instanceId)?.eniIds ?? []).map((id) => ({ id, groups: [...this.enis.get(id)!.groups] }));
  }

  instance(id: string): SimInstanceView | undefined {
    this.core.settle();
    const i = this.instances.get(id);
    return i && { instanceId: i.instanceId, region: i.region, state: i.state, privateIpAddress: i.privateIpAddress, vpcId: i.vpcId };
  }

  /** The instance goes to `to` at `at` (now by default): a person or a script starting it, Auto Scaling terminating it. */
  setState(instanceId: string, to: Ec2State, at = this.core.clock.now()): void {
    const i = this.instances.get(instanceId);
    if (!i) throw new Error(`SimulatedAccount: no instance ${instanceId}`);
    if (i.stopAt) i.stopAt.cancelled = true;
    i.stopAt = undefined;
    this.setInstanceState(i, to, at);
    this.core.settle();
  }

  /** Ids of the instances in `region` (every instance, for Auto Scaling's bookkeeping). */
  instanceIds(region: string): string[] {
    return [...this.instances.values()].filter((i) => i.region === region).map((i) => i.instanceId);
  }

  setTag(instanceId: string, key: string, value: string): void {
    const i = this.instances.get(instanceId);
    if (i) i.tags[key] = value;
  }

  // --- operations ------------------------------------------------------------------------------

  private setInstanceState(i: Instance, to: Ec2State, at = this.core.clock.now()): Transition {
    return this.core.schedule(at, i.instanceId, to, () => { const from = i.state; i.state = to; return from; });
  }

  /** Instances visible in `region`; any unknown id fails the whole call, as EC2 does. */
  private findInstances(ids: string[] | undefined, region: string): Instance[] {
    if (!ids?.length) return [...this.instances.values()].filter((i) => i.region === region);
    const missing = ids.filter((id) => this.instances.get(id)?.region !== region);
    if (missing.length === 1) throw this.core.awsError('ec2', 'InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
    if (missing.length > 1) throw this.core.awsError('ec2', 'InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
    return ids.map((id) => this.instances.get(id) as Instance);
  }

  private dryRunCheck(input: { DryRun?: boolean }): void {
    if (input.DryRun) throw this.core.awsError('ec2', 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
  }

  private groupsOf(groupIds: string[]): ec2.GroupIdentifier[] {
    return groupIds.map((g) => ({ GroupId: g, GroupName: this.securityGroups.get(g)?.name ?? g }));
  }

  private describeInstances(input: ec2.DescribeInstancesRequest, region: string): ec2.DescribeInstancesResult {
    if (input.Filters?.length) throw new Error('SimulatedAccount: DescribeInstances Filters are not simulated');
    const found = this.findInstances(input.InstanceIds, region);
    this.dryRunCheck(input);
    const accountId = this.core.accountId;
    return {
      Reservations: found.map((i, n) => ({
        ReservationId: `r-0sim${String(n).padStart(12, '0')}`, OwnerId: accountId,
        Instances: [{
          InstanceId: i.instanceId, State: ec2StateOf(i.state), PrivateIpAddress: i.privateIpAddress, VpcId: i.vpcId,
          Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
          NetworkInterfaces: i.eniIds.map((id, index) => ({
            NetworkInterfaceId: id, VpcId: i.vpcId, Attachment: { DeviceIndex: index, InstanceOwnerId: accountId },
            Groups: this.groupsOf(this.enis.get(id)!.groups),
          })),
        }],
      })),
    };
  }

  private describeNetworkInterfaces(input: ec2.DescribeNetworkInterfacesRequest, region: string): ec2.DescribeNetworkInterfacesResult {
    if (input.Filters?.length) throw new Error('SimulatedAccount: DescribeNetworkInterfaces Filters are not simulated');
    const ids = input.NetworkInterfaceIds ?? [...this.enis.keys()];
    const found = ids.map((id) => {
      const eni = this.enis.get(id);
      if (!eni || eni.region !== region) throw this.core.awsError('ec2', 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
      return eni;
    });
    return {
      NetworkInterfaces: found.map((e) => ({
        NetworkInterfaceId: e.id, VpcId: e.vpcId, Attachment: { InstanceId: e.instanceId }, Groups: this.groupsOf(e.groups),
      })),
    };
  }

  /** Replacing an interface's security groups takes effect at once, as in EC2. */
  private modifyNetworkInterfaceAttribute(input: ec2.ModifyNetworkInterfaceAttributeRequest, region: string): object {
    const eni = this.enis.get(input.NetworkInterfaceId ?? '');
    if (!eni || eni.region !== region) {
      throw this.core.awsError('ec2', 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${input.NetworkInterfaceId}' does not exist`);
    }
    this.dryRunCheck(input);
    if (!input.Groups?.length) throw new Error('SimulatedAccount: only ModifyNetworkInterfaceAttribute Groups is simulated');
    for (const g of input.Groups) {
      const group = this.securityGroups.get(g);
      if (!group || group.region !== region) throw this.core.awsError('ec2', 'InvalidGroup.NotFound', `The security group '${g}' does not exist`);
      if (group.vpcId !== eni.vpcId) {
        throw this.core.awsError('ec2', 'InvalidParameterValue', `Security group ${g} and interface ${eni.id} belong to different networks.`);
      }
    }
    const from = eni.groups.join(',');
    eni.groups = [...input.Groups];
    this.core.recordEvent(eni.id, from, eni.groups.join(','));
    return {};
  }

  private describeSecurityGroups(input: ec2.DescribeSecurityGroupsRequest, region: string): ec2.DescribeSecurityGroupsResult {
    const filters = input.Filters ?? [];
    const matches = (g: SecurityGroup) =>
      g.region === region &&
      (!input.GroupIds || input.GroupIds.includes(g.id)) &&
      filters.every((f) => {
        if (f.Name === 'group-name') return (f.Values ?? []).includes(g.name);
        if (f.Name === 'vpc-id') return (f.Values ?? []).includes(g.vpcId);
        throw new Error(`SimulatedAccount: DescribeSecurityGroups filter ${f.Name} is not simulated`);
      });
    return { SecurityGroups: [...this.securityGroups.values()].filter(matches).map((g) => ({ GroupId: g.id, GroupName: g.name, VpcId: g.vpcId })) };
  }

  private stopInstances(input: ec2.StopInstancesRequest, region: string): ec2.StopInstancesResult {
    const found = this.findInstances(input.InstanceIds ?? [], region);
    const stuck = found.find((i) => i.state === 'pending' || i.state === 'shutting-down' || i.state === 'terminated');
    if (stuck) {
      throw this.core.awsError('ec2', 'IncorrectInstanceState', `This instance '${stuck.instanceId}' is not in a state from which it can be stopped.`);
    }
    this.dryRunCheck(input);
    // SkipOsShutdown skips the graceful OS shutdown, so it stops as fast as a forced stop.
    const { latencies, clock } = this.core;
    const seconds = input.Force || input.SkipOsShutdown ? latencies.ec2ForceStopSeconds : latencies.ec2StopSeconds;
    const doneAt = clock.now() + seconds * 1000;
    const result = found.map((i) => {
      const previous = i.state;
      if (i.state === 'running') {
        this.setInstanceState(i, 'stopping');
        this.core.settle();
      }
      // Like AWS, a forced stop also hurries an instance that is already stopping; stopping/stopped is no error.
      const hurry = i.state === 'stopping' && (!i.stopAt || i.stopAt.at > doneAt);
      if (hurry && !this.core.behaviorOf(i.instanceId)?.stopNeverCompletes) {
        if (i.stopAt) i.stopAt.cancelled = true;
        i.stopAt = this.setInstanceState(i, 'stopped', doneAt);
      }
      return { InstanceId: i.instanceId, PreviousState: ec2StateOf(previous), CurrentState: ec2StateOf(i.state) };
    });
    return { StoppingInstances: result };
  }

  private startInstances(input: ec2.StartInstancesRequest, region: string): ec2.StartInstancesResult {
    const found = this.findInstances(input.InstanceIds ?? [], region);
    const stuck = found.find((i) => i.state !== 'stopped' && i.state !== 'running' && i.state !== 'pending');
    if (stuck) {
      throw this.core.awsError('ec2', 'IncorrectInstanceState', `The instance '${stuck.instanceId}' is not in a state from which it can be started.`);
    }
    this.dryRunCheck(input);
    const result = found.map((i) => {
      const previous = i.state;
      if (i.state === 'stopped') {
        i.stopAt = undefined;
        this.setInstanceState(i, 'pending');
        this.core.settle();
        this.setInstanceState(i, 'running', this.core.clock.now() + 10_000);
      }
      return { InstanceId: i.instanceId, PreviousState: ec2StateOf(previous), CurrentState: ec2StateOf(i.state) };
    });
    return { StartingInstances: result };
  }
}
